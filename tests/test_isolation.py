"""Tenant isolation, proved over every API route in the URL configuration.

A caller of merchant A, with every permission, asks for each object of merchant B through every
route and method: the answer is 404, and nothing in the database changes. Lists and singletons never
show B's data.
"""

from __future__ import annotations

import pytest
from django.db import connection

from distribution.api.views import DistributorApi, MerchantApi
from merchants.roles import Role
from tests.builders.world import build_world
from tests.helpers import Api, assert_error
from tests.routes import api_routes, object_for

pytestmark = pytest.mark.django_db

SECRET = "betasecret"
# Authenticated otherwise: a login takes a username and password; the order webhook is authenticated by
# its signature (another merchant's secret is refused: tests/orders/test_webhooks.py); accepting an
# invitation takes its token, which names the merchant (tests/merchants/test_invitations.py); a WeChat Pay
# notification is authenticated by the account's platform signature (tests/settlements/test_transfers.py).
PUBLIC_VIEWS = {"StaffLoginApi", "OrderWebhookApi", "InvitationAcceptApi", "WechatPayTransferNotifyApi"}


def database_fingerprint() -> dict[str, str]:
    """md5 of every table's rows (ignoring last-use timestamps, which a request may touch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
              FROM information_schema.columns
             WHERE table_schema = 'public' AND column_name <> 'last_used_at'
               AND table_name NOT IN ('django_session')
             GROUP BY table_name
            """
        )
        tables = cursor.fetchall()
        result = {}
        for table, columns in tables:
            cursor.execute(
                f"SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) "
                f"FROM (SELECT ROW({columns})::text AS r FROM {table}) t"
            )
            result[table] = cursor.fetchone()[0]
    return result


@pytest.fixture
def worlds():
    a = build_world("alpha")
    b = build_world(SECRET)
    return a, b


def body(response) -> str:
    """The answer's text, streamed (a CSV export) or not."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def caller_for(route, api: Api, merchant):
    if route.is_distributor:
        return api.distributor(merchant, external_user_id="alpha-app-user")
    return api.staff(merchant, Role.OWNER)


def test_every_api_view_is_tenant_scoped():
    for route in api_routes():
        assert issubclass(route.view, (MerchantApi, DistributorApi)) or route.view.__name__ in PUBLIC_VIEWS, (
            f"{route} ({route.view.__name__}) does not derive from MerchantApi or DistributorApi"
        )


def test_foreign_objects_are_404_for_every_route_and_method(worlds, api):
    a, b = worlds
    checked = 0
    for route in api_routes():
        if not route.object_params or route.view.__name__ in PUBLIC_VIEWS:
            continue
        kwargs = object_for(route, b)
        client = caller_for(route, api, a)
        for method in route.methods:
            before = database_fingerprint()
            response = client.generic(
                method,
                route.url(**kwargs),
                data="{}",
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"iso-{method}-{route.name}",
            )
            assert_error(response, 404, "not_found")
            assert database_fingerprint() == before, f"{method} {route} changed the database"
            checked += 1
    assert checked >= 8


def test_lists_and_singletons_never_show_another_merchants_data(worlds, api):
    a, _ = worlds
    checked = 0
    for route in api_routes():
        if route.object_params or "GET" not in route.methods or route.view.__name__ in PUBLIC_VIEWS:
            continue
        response = caller_for(route, api, a).get(route.url())
        assert response.status_code == 200, (route, response.content)
        assert SECRET not in body(response), f"{route} shows merchant B's data"
        checked += 1
    assert checked >= 8


def test_merchant_b_sees_its_own_data_through_the_same_routes(worlds, api):
    """The leak check above is meaningful only if B's marker does show up for B."""
    _, b = worlds
    shown = [
        route.route
        for route in api_routes()
        if not route.object_params
        and "GET" in route.methods
        and route.view.__name__ not in PUBLIC_VIEWS
        and SECRET in body(caller_for(route, api, b).get(route.url()))
    ]
    assert {
        "/api/v1/products",
        "/api/v1/audit-events",
        "/api/v1/merchant",
        "/api/v1/me",
        "/api/v1/staff/invitations",
        "/api/v1/exports/distributors",
        "/api/v1/exports/orders",
    } <= set(shown)
