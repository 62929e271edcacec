"""Every analytics endpoint reads its figures through analytics.db.reads(): with the reads routed to the
`replica` alias (a mirror of the test database, tests/conftest.py), no query of an analytics answer touches
the figures' tables on the primary; only the credential, the caller's distributor and the object named in
the URL are read there."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext, override_settings

from tests.builders.distributors import join
from tests.routes import api_routes

pytestmark = pytest.mark.django_db(databases=["default", "replica"])

# quoted by the ORM, bare in raw SQL
FIGURE_TABLES = re.compile(
    r'(?<![\w])"?(analytics_\w+|orders_order|orders_orderitem|distributors_application|commissions_commissionline)"?(?![\w])'
)


@override_settings(ANALYTICS_DATABASE="replica")
def test_figures_are_read_on_the_analytics_connection(merchant, api):
    person = join(merchant, "app-user-1")
    staff, distributor = api.staff(merchant), api.distributor(merchant)
    routes = [r for r in api_routes() if r.view.__module__ == "analytics.api.views" and "GET" in r.methods]
    assert len(routes) == 11
    for route in routes:
        client = distributor if route.is_distributor else staff
        url = route.url(pk=person.pk)
        with (
            CaptureQueriesContext(connections["default"]) as primary,
            CaptureQueriesContext(connections["replica"]) as replica,
        ):
            response = client.get(url, {"date_to": "2026-03-02"} if "repurchase" in url else {})
        assert response.status_code == 200, (url, response.content)
        on_primary = [q["sql"] for q in primary.captured_queries if FIGURE_TABLES.search(q["sql"])]
        assert on_primary == [], (url, on_primary)
        if route.name != "distributor-leaderboard-participation":  # a setting of the caller's, no figure
            assert any(FIGURE_TABLES.search(q["sql"]) for q in replica.captured_queries), url
