"""make run's demo shows figures on every analytics endpoint, and its rollups check clean."""

import io

import pytest
from django.core.management import call_command

from analytics.verify import rollup_problems
from distributors.models import Distributor
from merchants.models import Merchant
from merchants.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=io.StringIO())
    return Merchant.objects.get(slug="demo")


def test_every_analytics_endpoint_shows_non_zero_figures_for_the_demo(demo, api):
    client = api.api_key(demo, Role.ADMIN)

    def get(path):
        response = client.get(f"/api/v1/{path}")
        assert response.status_code == 200, (path, response.content)
        return response.json()

    summary = get("analytics/summary")["metrics"]
    for name in ("gmv", "net_gmv", "orders", "buyers", "commission_accrued", "visits", "active_distributors"):
        assert summary[name]["value"] not in (0, "0.00", None), name
    assert any(p["value"] != "0.00" for p in get("analytics/timeseries?metric=gmv&interval=week")["points"])
    for dimension in ("distributors", "products", "categories", "channels"):
        entries = get(f"analytics/leaderboard?dimension={dimension}")["entries"]
        assert entries and entries[0]["gmv"] != "0.00", dimension
    funnel = {s["step"]: s["count"] for s in get("analytics/funnel")["steps"]}
    assert all(funnel[step] > 0 for step in ("visits", "orders", "completed_orders")), funnel
    assert all(w["buyers"] > 0 and w["repeat_buyers"] > 0 for w in get("analytics/repurchase")["windows"])
    buyers = get("analytics/buyers")
    assert buyers["new_buyers"] > 0 and buyers["returning_buyers"] > 0 and buyers["regions_by_buyers"]
    assert get("analytics/distributors/activity")["active"] > 0
    founder = Distributor.objects.for_merchant(demo).filter(depth=0).order_by("pk").first()
    assert get(f"analytics/teams/{founder.pk}")["team"]["orders"] > 0
    assert rollup_problems(demo.pk) == []


def test_a_demo_distributor_sees_their_own_stats(demo, api):
    seller = Distributor.objects.for_merchant(demo).filter(depth=1).order_by("pk").first()
    response = api.distributor(demo, seller.external_user_id).get("/api/v1/distributor/stats")
    assert response.status_code == 200, response.content
    body = response.json()
    assert any(month["commission"] != "0.00" for month in body["months"]), body
