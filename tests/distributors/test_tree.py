"""The invite tree: upline, team counts by depth, team lists."""

import pytest

from distributors import selectors
from distributors.services import lifecycle
from merchants.roles import Role
from merchants.services.programs import program_update
from tests.builders.distributors import ACTOR, tree
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

SPEC = {"r": None, "a": "r", "b": "r", "a1": "a", "a2": "a", "b1": "b", "a1x": "a1", "a1y": "a1", "deep": "a1x"}


def test_upline_nearest_first_up_to_the_depth(merchant):
    t = tree(merchant, SPEC)
    assert [d.external_user_id for d in selectors.upline(t["deep"], 3)] == ["a1x", "a1", "a"]
    assert [d.external_user_id for d in selectors.upline(t["deep"], 2)] == ["a1x", "a1"]
    assert [d.external_user_id for d in selectors.upline(t["a"], 3)] == ["r"]
    assert selectors.upline(t["r"], 3) == []


def test_upline_by_id_is_the_same_in_one_query(merchant, django_assert_num_queries):
    t = tree(merchant, SPEC)
    with django_assert_num_queries(1):
        found = selectors.upline_by_id(merchant, t["deep"].pk, 3)
    assert [d.external_user_id for d in found] == ["a1x", "a1", "a"]
    assert [d.external_user_id for d in selectors.upline_by_id(merchant, t["a1"].pk, 3)] == ["a", "r"]
    assert selectors.upline_by_id(merchant, t["r"].pk, 3) == []


def test_team_counts_by_relative_depth(merchant):
    t = tree(merchant, SPEC)
    assert selectors.team_counts(t["r"]) == {"1": 2, "2": 3, "3": 2, "total": 8}
    assert selectors.team_counts(t["a"]) == {"1": 2, "2": 2, "3": 1, "total": 5}
    assert selectors.team_counts(t["deep"]) == {"1": 0, "2": 0, "3": 0, "total": 0}
    # removed members leave the team; frozen ones stay
    lifecycle.distributor_remove(merchant=merchant, actor=ACTOR, distributor_id=t["a2"].pk, reason="x")
    lifecycle.distributor_freeze(merchant=merchant, actor=ACTOR, distributor_id=t["b1"].pk, reason="x")
    assert selectors.team_counts(t["r"]) == {"1": 2, "2": 2, "3": 2, "total": 7}


def test_detail_shows_upline_to_the_program_depth_and_team(api, merchant):
    t = tree(merchant, SPEC)
    program_update(
        merchant=merchant, actor=ACTOR, changes={"commission_depth": 3, "app_base_url": "https://m.example.com/"}
    )
    body = api.staff(merchant, Role.VIEWER).get(f"/api/v1/distributors/{t['a1x'].pk}").json()
    assert [u["display_name"] for u in body["upline"]] == ["a1", "a", "r"]
    assert body["team"] == {"direct": 1, "depth_2": 0, "depth_3": 0, "members": 1}
    assert body["invite_link"] == f"https://m.example.com/distribution/join?invite={t['a1x'].invite_code}"
    assert body["share_link"] == f"https://m.example.com/?share={t['a1x'].invite_code}"


def test_team_list_with_depth_filter_and_pages(api, merchant):
    t = tree(merchant, SPEC)
    staff = api.staff(merchant, Role.VIEWER)
    direct = staff.get(f"/api/v1/distributors/{t['r'].pk}/team?depth=1").json()["results"]
    assert [(m["display_name"], m["relative_depth"]) for m in direct] == [("b", 1), ("a", 1)]
    everyone, url = [], f"/api/v1/distributors/{t['r'].pk}/team?limit=3"
    while url:
        page = staff.get(url).json()
        everyone += [(m["display_name"], m["relative_depth"]) for m in page["results"]]
        url = page["next"]
    assert sorted(everyone) == sorted(
        [("a", 1), ("b", 1), ("a1", 2), ("a2", 2), ("b1", 2), ("a1x", 3), ("a1y", 3), ("deep", 4)]
    )
    assert_error(staff.get(f"/api/v1/distributors/{t['r'].pk}/team?depth=zero"), 400, "invalid")


def test_a_distributor_sees_their_own_team_only(api, merchant):
    t = tree(merchant, SPEC)
    app = api.distributor(merchant, "a")
    names = sorted(m["display_name"] for m in app.get("/api/v1/distributor/team").json()["results"])
    assert names == ["a1", "a1x", "a1y", "a2", "deep"]
    me = app.get("/api/v1/distributor/me").json()
    assert me["status"] == "active" and me["team"] == {"direct": 2, "depth_2": 2, "depth_3": 1, "members": 5}
    assert t["b"].pk not in [m["id"] for m in app.get("/api/v1/distributor/team").json()["results"]]
