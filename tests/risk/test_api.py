"""The merchant's review of risk flags (`/api/v1/risk-flags`): listing, filtering, blacklisting from a flag."""

from __future__ import annotations

import pytest

from distributors.models import BlacklistEntry
from merchants.roles import Role
from risk.models import RiskFlag
from risk.services import risk_sweep
from tests.builders.distributors import join
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


class TestReview:
    @pytest.fixture
    def twins(self, merchant):
        a = join(merchant, "a", phone="13800000001")
        b = join(merchant, "b", phone="13800000001")
        risk_sweep(merchant=merchant)
        return a, b

    def test_blacklisting_from_a_flag(self, api, merchant, twins):
        a, _ = twins
        flag = RiskFlag.objects.for_merchant(merchant).get(distributor=a)
        staff = api.staff(merchant, Role.OPERATOR)
        response = staff.post(
            f"/api/v1/risk-flags/{flag.pk}/review", {"action": "blacklist", "note": "confirmed"}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["status"], body["review_note"], body["distributor"]) == ("blacklisted", "confirmed", a.pk)
        a.refresh_from_db()
        assert a.status == "blacklisted"
        entry = BlacklistEntry.objects.for_merchant(merchant).get()
        assert (entry.kind, entry.reason) == ("distributor", f"risk flag {flag.pk} (shared_identity): confirmed")
        again = staff.post(f"/api/v1/risk-flags/{flag.pk}/review", {"action": "dismiss"}, format="json")
        assert_error(again, 409, "flag_already_reviewed")

    def test_listing_filtering_and_bad_input(self, api, merchant, twins):
        b = twins[1]
        staff = api.staff(merchant, Role.VIEWER)
        listed = staff.get("/api/v1/risk-flags", {"distributor": b.pk}).json()["results"]
        assert [(f["rule"], f["distributor"], f["status"]) for f in listed] == [("shared_identity", b.pk, "open")]
        flag_id = listed[0]["id"]
        assert_error(staff.post(f"/api/v1/risk-flags/{flag_id}/review", {"action": "accept"}, format="json"), 403)
        operator = api.staff(merchant, Role.OPERATOR)
        assert_error(operator.post(f"/api/v1/risk-flags/{flag_id}/review", {"action": "ban"}, format="json"), 400)
        assert RiskFlag.objects.get(pk=flag_id).status == "open"

    def test_a_flag_without_a_distributor_cannot_blacklist(self, api, merchant):
        flag = RiskFlag.objects.create(
            merchant=merchant, rule="customer_switching", subject="customer:x", evidence={"customer": "x"}
        )
        response = api.staff(merchant, Role.OPERATOR).post(
            f"/api/v1/risk-flags/{flag.pk}/review", {"action": "blacklist"}, format="json"
        )
        assert_error(response, 422, "no_distributor")
