from __future__ import annotations

import pytest

from distribution import rls
from merchants.roles import Role
from tests.builders.factories import make_merchant
from tests.helpers import Api


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A second alias, `replica`, on the same test database (a mirror), as DATABASE_REPLICA_URL makes one: the
    analytics reads are routed through it in tests/analytics/test_replica.py (settings.ANALYTICS_DATABASE)."""
    from django.conf import settings

    settings.DATABASES.setdefault(
        "replica",
        {
            **settings.DATABASES["default"],
            "TEST": {**settings.DATABASES["default"].get("TEST", {}), "MIRROR": "default"},
        },
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test databases are made and migrated as the owner (the DATABASE_URL role); then the suite connects
    as the application's role, which owns no table and is held to the row-level-security policies, exactly
    as the deployed application is. (It also may TRUNCATE, which the test runner's flush needs.)"""
    from django.conf import settings
    from django.db import connections

    app_user, app_password = settings.DATABASE_APP_USER, settings.DATABASE_APP_PASSWORD
    owner = {alias: dict(connections[alias].settings_dict) for alias in connections}
    with django_db_blocker.unblock():
        for alias in connections:
            connection = connections[alias]
            if connection.settings_dict["USER"] == app_user:
                raise RuntimeError(f"DATABASE_URL must name the owner role, not the application role {app_user}")
            rls.create_app_role(connection, app_user, app_password)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {connection.ops.quote_name(app_user)}"
                )
            connection.close()
            connection.settings_dict.update(USER=app_user, PASSWORD=app_password)
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
            connections[alias].settings_dict.update(USER=owner[alias]["USER"], PASSWORD=owner[alias]["PASSWORD"])


@pytest.fixture(autouse=True)
def platform_context():
    """Test code builds and inspects data across merchants, as a platform job does: it runs under the bypass.
    Every request it makes and every task it runs sets its own merchant and is held to the policies."""
    with rls.bypass():
        yield


@pytest.fixture(autouse=True)
def money_is_a_decimal_string(monkeypatch):
    """Every JSON answer any test receives: money only as a decimal string (tests/money_format.py)."""
    from django.test import client as test_client

    from tests.money_format import check_response

    original = test_client.Client.request
    violations: list[str] = []

    def request(self, **kwargs):
        response = original(self, **kwargs)
        violations.extend(check_response(response))
        return response

    monkeypatch.setattr(test_client.Client, "request", request)
    yield
    assert not violations, f"money that is not a decimal string: {violations[:5]}"


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def merchant(db):
    return make_merchant("alpha")


@pytest.fixture
def other_merchant(db):
    return make_merchant("beta")


@pytest.fixture
def owner_client(api, merchant):
    return api.staff(merchant, Role.OWNER)


def _uses_db(item) -> bool:
    names = getattr(item, "fixturenames", ())
    return "db" in names or "transactional_db" in names or item.get_closest_marker("django_db") is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After every test that touched the database, the ledger's invariants must hold (check_ledger)."""
    result = yield
    if _uses_db(item) and item.get_closest_marker("ledger_may_be_unbalanced") is None:
        from ledger.checks import ledger_problems

        problems = ledger_problems()
        assert not problems, "the ledger does not check clean after this test:\n" + "\n".join(problems)
    return result


@pytest.fixture
def shop(api, merchant):
    """A merchant's shop (tests/builders/orders.setup_shop: products, a seller and their inviter) and an operator
    API key client for it; its people are `shop.people`."""
    from tests.builders.orders import setup_shop

    people = setup_shop(merchant)
    client = api.api_key(merchant, Role.OPERATOR)
    client.people = people
    return client
