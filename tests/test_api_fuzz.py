"""API fuzzing with schemathesis over our own OpenAPI schema: whatever a caller sends, the answer is
never a 5xx, and it matches what the schema promises (status codes, content types, body shapes)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from config.wsgi import application
from merchants.roles import Role
from merchants.services import staff_login
from tests.factories import make_distributor_token, make_member
from tests.helpers import PASSWORD, login_request
from tests.world import build_world

# Generating the schema touches no database, so it can be loaded when the module is collected.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def fuzz(db):
    # Requests go straight to the WSGI app; like Django's test client, keep the test's connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        merchant = build_world("fuzz")
        yield {"merchant": merchant, "credentials": {}}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def credentials_for(path: str, fuzz: dict) -> dict[str, str]:
    """One credential per kind and test, except where the example may revoke it (then a fresh one)."""
    kind = "distributor" if path.startswith("/api/v1/distributor/") else "staff"
    if path.endswith("/revoke") or kind not in fuzz["credentials"]:
        fuzz["credentials"][kind] = _new_credentials(kind, fuzz["merchant"])
    return fuzz["credentials"][kind]


def _new_credentials(kind: str, merchant) -> dict[str, str]:
    if kind == "distributor":
        _, key = make_distributor_token(merchant, "fuzz-app-user")
    else:
        membership = make_member(merchant, Role.OWNER, username="fuzz-owner")
        _, key = staff_login(
            request=login_request(), username=membership.user.username, password=PASSWORD, merchant_slug="fuzz"
        )
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, fuzz):
    # Left out: the checks that a schema-valid request is always accepted and a schema-invalid one always
    # refused. Semantic rules (an expiry in the past, an unknown time zone, an opaque cursor) refuse some
    # schema-valid input by design, and DRF reads "0" and 0 alike for a string field.
    case.call_and_validate(
        headers=credentials_for(case.path, fuzz),
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
    )
