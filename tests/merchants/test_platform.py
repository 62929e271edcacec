"""The platform API: operators create merchants with their first owner's invitation, list, suspend and
reactivate them, with a platform key only."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from merchants.models import Invitation, Membership, Merchant, PlatformAPIKey
from merchants.roles import Role
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db
BASE = "/api/platform/v1/merchants"


@pytest.fixture
def platform():
    _, key = PlatformAPIKey.objects.create_key(name="ops")
    return APIClient(HTTP_X_PLATFORM_KEY=key)


def test_create_a_merchant_with_its_owner_invitation_and_the_owner_joins(platform):
    body = {"name": "Tea Garden", "slug": "tea-garden", "owner_email": "boss@example.com"}
    response = platform.post(BASE, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["merchant"]["slug"] == "tea-garden" and created["merchant"]["status"] == "active"
    invitation = created["owner_invitation"]
    assert invitation["email"] == "boss@example.com" and invitation["token"]
    merchant = Merchant.objects.get(slug="tea-garden")
    assert merchant.program.commission_depth == 2  # the program's defaults come with it
    assert Membership.objects.for_merchant(merchant).count() == 0
    stored = Invitation.objects.for_merchant(merchant).get()
    assert (stored.role, stored.status) == (Role.OWNER, "pending")

    accepted = APIClient().post(
        "/api/v1/auth/invitations/accept",
        {
            "token": invitation["token"],
            "new_account": True,
            "username": "boss",
            "password": "a long and good passphrase 7",
        },
        format="json",
    )
    assert accepted.status_code == 201, accepted.content
    owner = Membership.objects.for_merchant(merchant).get()
    assert (owner.role, owner.user.username) == (Role.OWNER, "boss@tea-garden")


def test_list_suspend_and_reactivate(platform, merchant, other_merchant):
    listed = platform.get(BASE).json()
    assert [m["slug"] for m in listed["results"]] == ["beta", "alpha"]
    suspended = platform.post(f"{BASE}/{merchant.pk}/suspend", {"reason": "unpaid"}, format="json")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert [m["slug"] for m in platform.get(f"{BASE}?status=suspended").json()["results"]] == ["alpha"]
    assert platform.get(f"{BASE}/{merchant.pk}").json()["status"] == "suspended"
    assert platform.post(f"{BASE}/{merchant.pk}/reactivate").json()["status"] == "active"
    assert_error(platform.get(f"{BASE}/999999"), 404, "not_found")
    assert_error(platform.get(f"{BASE}?status=gone"), 400, "invalid")


def test_only_a_platform_key_works_here(api, merchant):
    for client in (APIClient(), api.api_key(merchant, Role.ADMIN), api.staff(merchant, Role.OWNER)):
        assert client.get(BASE).status_code in (401, 403)
    assert_error(APIClient(HTTP_X_PLATFORM_KEY="nope.nope").get(BASE), 401)
    # and a platform key opens no merchant endpoint
    _, key = PlatformAPIKey.objects.create_key(name="ops")
    assert APIClient(HTTP_X_PLATFORM_KEY=key).get("/api/v1/program").status_code == 401


def test_bad_input_writes_nothing(platform, merchant):
    assert_error(platform.post(BASE, {"name": "X", "slug": "alpha", "owner_email": "a@b.c"}, format="json"), 400)
    assert_error(platform.post(BASE, {"name": "X", "slug": "x", "owner_email": "nope"}, format="json"), 400)
    assert_error(platform.post(BASE, {"name": "X", "slug": "x", "owner_email": "a@b.c", "evil": 1}, format="json"), 400)
    assert Merchant.objects.count() == 1


def test_the_command_prints_a_working_key(capsys):
    call_command("create_platform_key", "--name", "ci")
    key = capsys.readouterr().out.strip()
    assert APIClient(HTTP_X_PLATFORM_KEY=key).get(BASE).status_code == 200
