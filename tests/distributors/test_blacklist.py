"""The blacklist: matching by keyed hash, its effect on existing distributors, and its removal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from distribution.models import AuditEvent
from distributors.models import BlacklistEntry, Distributor
from merchants.roles import Role
from tests.builders.distributors import VALID_ID, join
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def add(client, **body):
    return client.post("/api/v1/blacklist", {"reason": "fraud", **body}, format="json")


def status(merchant, d):
    return Distributor.objects.for_merchant(merchant).get(pk=d.pk).status


def test_blacklisting_a_distributor_changes_their_status_at_once(api, merchant):
    d = join(merchant, "u")
    staff = api.staff(merchant, Role.OPERATOR, username="olga")
    response = add(staff, kind="distributor", distributor=d.pk)
    assert response.status_code == 201
    body = response.json()
    assert body["blacklisted_distributors"] == [d.pk] and body["is_live"] is True
    assert body["added_by"] == "olga" and body["value"] == str(d)
    assert status(merchant, d) == "blacklisted"
    event = AuditEvent.objects.for_merchant(merchant).filter(action="distributor.status_changed").last()
    assert event.changes == {"status": ["active", "blacklisted"]} and event.reason == "blacklist: fraud"


@pytest.mark.parametrize(
    ("kind", "stored", "value", "display"),
    [
        ("phone", {"phone": "13800138000"}, "+86 138-0013-8000", "138****8000"),
        ("id_number", {"real_name": "张三", "id_number": VALID_ID}, VALID_ID.lower(), "1101**********002X"),
        ("external_user_id", {}, "u", "u"),
    ],
)
def test_entries_match_existing_distributors_by_hash(api, merchant, kind, stored, value, display):
    d = join(merchant, "u", **stored)
    bystander = join(merchant, "v")
    body = add(api.staff(merchant), kind=kind, value=value).json()
    assert body["value"] == display and body["blacklisted_distributors"] == [d.pk]
    assert status(merchant, d) == "blacklisted" and status(merchant, bystander) == "active"
    entry = BlacklistEntry.objects.for_merchant(merchant).get()
    assert value not in entry.value_hash and len(entry.value_hash) == 64


def test_removing_an_entry_restores_nothing_and_reactivation_is_by_hand(api, merchant):
    d = join(merchant, "u", phone="13800138000")
    staff = api.staff(merchant)
    entry = add(staff, kind="phone", value="13800138000").json()
    error = assert_error(
        staff.post(f"/api/v1/distributors/{d.pk}/reactivate", {"reason": "appeal"}, format="json"),
        409,
        "still_blacklisted",
    )
    assert error["code"] == "still_blacklisted"
    removed = staff.delete(f"/api/v1/blacklist/{entry['id']}").json()
    assert removed["is_live"] is False and removed["removed_at"]
    assert status(merchant, d) == "blacklisted"
    assert (
        staff.post(f"/api/v1/distributors/{d.pk}/reactivate", {"reason": "appeal won"}, format="json").json()["status"]
        == "active"
    )


def test_an_expired_entry_blocks_no_one(api, merchant):
    staff = api.staff(merchant)
    entry = add(
        staff, kind="external_user_id", value="u", expires_at=(timezone.now() + timedelta(hours=1)).isoformat()
    ).json()
    BlacklistEntry.objects.for_merchant(merchant).filter(pk=entry["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert api.distributor(merchant, "u").post("/api/v1/distributor/apply", {}, format="json").status_code == 201


def test_refusals(api, merchant, other_merchant):
    staff = api.staff(merchant)
    add(staff, kind="phone", value="13800138000")
    assert_error(add(staff, kind="phone", value="138 0013 8000"), 409, "already_blacklisted")
    assert_error(add(staff, kind="phone"), 400, "invalid")
    assert_error(add(staff, kind="distributor"), 404)
    foreign = join(other_merchant, "theirs")
    assert_error(add(staff, kind="distributor", distributor=foreign.pk), 400, "invalid")
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert_error(add(staff, kind="phone", value="13900000000", expires_at=past), 400, "invalid")
    assert BlacklistEntry.objects.for_merchant(merchant).count() == 1
    assert_error(
        api.staff(merchant, Role.VIEWER).post(
            "/api/v1/blacklist", {"kind": "phone", "value": "1", "reason": "x"}, format="json"
        ),
        403,
    )
