"""Status transitions (each guarded and audited), levels set by hand, and re-parenting."""

import pytest

from distribution.models import AuditEvent
from distributors.models import CustomerBinding, Distributor
from distributors.services import bindings, levels
from merchants.roles import Role
from merchants.services.programs import program_update
from tests.builders.distributors import ACTOR, join, tree
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def status_of(merchant, d):
    return Distributor.objects.for_merchant(merchant).get(pk=d.pk).status


def post(client, url, body=None):
    return client.post(url, body or {}, format="json")


def test_freeze_unfreeze_remove_with_who_and_why(api, merchant):
    d = join(merchant, "u")
    staff = api.staff(merchant, Role.OPERATOR, username="olga")
    response = post(staff, f"/api/v1/distributors/{d.pk}/freeze", {"reason": "refund abuse"})
    assert response.status_code == 200
    assert response.json()["status"] == "frozen" and response.json()["status_reason"] == "refund abuse"
    assert post(staff, f"/api/v1/distributors/{d.pk}/unfreeze").json()["status"] == "active"
    assert post(staff, f"/api/v1/distributors/{d.pk}/remove", {"reason": "left"}).json()["status"] == "removed"
    events = list(
        AuditEvent.objects.for_merchant(merchant)
        .filter(action="distributor.status_changed", object_id=str(d.pk))
        .order_by("id")
        .values_list("changes", "reason", "actor_label")
    )
    assert events == [
        ({"status": ["applied", "active"]}, "auto-approved", "tests"),
        ({"status": ["active", "frozen"]}, "refund abuse", "olga"),
        ({"status": ["frozen", "active"]}, "", "olga"),
        ({"status": ["active", "removed"]}, "left", "olga"),
    ]


@pytest.mark.parametrize(
    ("setup", "action", "current"),
    [
        ([], "unfreeze", "active"),
        (["freeze"], "freeze", "frozen"),
        ([], "reactivate", "active"),
        (["remove"], "freeze", "removed"),
        (["remove"], "unfreeze", "removed"),
        (["remove"], "remove", "removed"),
    ],
)
def test_illegal_transitions_are_409_and_change_nothing(api, merchant, setup, action, current):
    d = join(merchant, "u")
    staff = api.staff(merchant)
    for step in setup:
        post(staff, f"/api/v1/distributors/{d.pk}/{step}", {"reason": "setup"})
    before = AuditEvent.objects.for_merchant(merchant).count()
    error = assert_error(
        post(staff, f"/api/v1/distributors/{d.pk}/{action}", {"reason": "again"}), 409, "invalid_transition"
    )
    assert error["current_status"] == current
    assert status_of(merchant, d) == current
    assert AuditEvent.objects.for_merchant(merchant).count() == before


def test_reasons_are_required_where_they_matter(api, merchant):
    d = join(merchant, "u")
    staff = api.staff(merchant)
    for action in ("freeze", "remove"):
        assert_error(post(staff, f"/api/v1/distributors/{d.pk}/{action}"), 400, "invalid")
    assert status_of(merchant, d) == "active"


@pytest.mark.parametrize(("choice", "expected_owner"), [("release", None), ("to_inviter", "boss")])
def test_removing_releases_customers_or_hands_them_to_the_inviter(api, merchant, choice, expected_owner):
    t = tree(merchant, {"boss": None, "u": "boss"})
    for c in ("c1", "c2"):
        bindings.binding_record_visit(merchant=merchant, customer_external_id=c, share_code=t["u"].invite_code)
    staff = api.staff(merchant)
    post(staff, f"/api/v1/distributors/{t['u'].pk}/remove", {"reason": "quit", "customers": choice})
    ended = CustomerBinding.objects.for_merchant(merchant).filter(distributor=t["u"])
    assert set(ended.values_list("status", "end_reason")) == {
        ("ended", "released" if choice == "release" else "transferred")
    }
    live = bindings.live_bindings(merchant).filter(customer_external_id__in=["c1", "c2"])
    if expected_owner is None:
        assert not live.exists()
    else:
        assert sorted(live.values_list("customer_external_id", "distributor__external_user_id")) == [
            ("c1", "boss"),
            ("c2", "boss"),
        ]
        assert set(live.values_list("source", flat=True)) == {"transfer"}


def test_setting_and_locking_a_level_by_hand(api, merchant):
    bronze = levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "Bronze", "rank": 1})
    gold = levels.level_create(merchant=merchant, actor=ACTOR, data={"name": "Gold", "rank": 3})
    d = join(merchant, "u")
    assert d.level_id == bronze.pk
    staff = api.staff(merchant, Role.OPERATOR)
    body = post(
        staff, f"/api/v1/distributors/{d.pk}/level", {"level": gold.pk, "lock": True, "reason": "key account"}
    ).json()
    assert body["level"] == {"id": gold.pk, "name": "Gold", "rank": 3}
    assert body["level_locked"] is True and body["level_lock_reason"] == "key account"
    event = AuditEvent.objects.for_merchant(merchant).get(action="distributor.level_set")
    assert event.changes == {"level": [bronze.pk, gold.pk], "level_locked": [False, True]}
    assert event.reason == "key account"
    assert_error(post(staff, f"/api/v1/distributors/{d.pk}/level", {"level": 10**9, "reason": "x"}), 400, "invalid")


def test_changing_the_inviter_moves_the_whole_subtree(api, merchant):
    t = tree(merchant, {"a": None, "b": "a", "c": "b", "d": "c", "x": None, "y": "x"})
    staff = api.staff(merchant)
    response = post(staff, f"/api/v1/distributors/{t['b'].pk}/inviter", {"inviter": t["y"].pk, "reason": "merge"})
    assert response.status_code == 200, response.content
    fresh = {k: Distributor.objects.for_merchant(merchant).get(pk=v.pk) for k, v in t.items()}
    ids = {k: v.pk for k, v in t.items()}
    assert (fresh["b"].inviter_id, fresh["b"].ancestor_ids, fresh["b"].depth) == (ids["y"], [ids["x"], ids["y"]], 2)
    assert (fresh["c"].ancestor_ids, fresh["c"].depth) == ([ids["x"], ids["y"], ids["b"]], 3)
    assert (fresh["d"].ancestor_ids, fresh["d"].depth) == ([ids["x"], ids["y"], ids["b"], ids["c"]], 4)
    assert fresh["a"].ancestor_ids == [] and fresh["y"].ancestor_ids == [ids["x"]]
    # to the top
    post(staff, f"/api/v1/distributors/{t['b'].pk}/inviter", {"inviter": None, "reason": "independent"})
    assert Distributor.objects.for_merchant(merchant).get(pk=ids["d"]).ancestor_ids == [ids["b"], ids["c"]]
    events = AuditEvent.objects.for_merchant(merchant).filter(action="distributor.inviter_changed").order_by("id")
    assert [e.changes for e in events] == [{"inviter": [ids["a"], ids["y"]]}, {"inviter": [ids["y"], None]}]


def test_the_new_inviter_must_be_active(api, merchant):
    t = tree(merchant, {"a": None, "b": None})
    staff = api.staff(merchant)
    post(staff, f"/api/v1/distributors/{t['a'].pk}/freeze", {"reason": "x"})
    assert_error(
        post(staff, f"/api/v1/distributors/{t['b'].pk}/inviter", {"inviter": t["a"].pk, "reason": "x"}),
        422,
        "inviter_not_active",
    )


def test_identity_submitted_by_the_server_and_verified(api, merchant):
    from tests.builders.distributors import VALID_ID

    d = join(merchant, "u")
    staff = api.staff(merchant, Role.OPERATOR)
    body = staff.put(
        f"/api/v1/distributors/{d.pk}/identity",
        {"real_name": "王小明", "id_number": VALID_ID, "verified": False},
        format="json",
    ).json()
    assert body["identity"]["real_name"] == "王**" and body["identity"]["id_number"] == "1101**********002X"
    assert body["identity"]["verified"] is False
    verified = post(staff, f"/api/v1/distributors/{d.pk}/identity/verify").json()
    assert verified["identity"]["verified"] is True and verified["identity"]["verified_at"]
    other = join(merchant, "v")
    assert_error(post(staff, f"/api/v1/distributors/{other.pk}/identity/verify"), 409, "identity_missing")


def test_personal_data_never_leaves_unmasked(api, merchant):
    from tests.builders.distributors import VALID_ID

    program_update(merchant=merchant, actor=ACTOR, changes={"application_requires_real_name": True})
    d = join(merchant, "u", phone="13912345678", real_name="赵钱孙", id_number=VALID_ID)
    staff = api.staff(merchant)
    pages = [
        staff.get("/api/v1/distributors"),
        staff.get(f"/api/v1/distributors/{d.pk}"),
        staff.get("/api/v1/applications"),
        staff.get("/api/v1/audit-events"),
        api.distributor(merchant, "u").get("/api/v1/distributor/me"),
    ]
    for page in pages:
        text = page.content.decode()
        assert page.status_code == 200
        for secret in ("13912345678", VALID_ID, "赵钱孙"):
            assert secret not in text, (page.request["PATH_INFO"], secret)
    assert "139****5678" in pages[1].content.decode()
