from __future__ import annotations

import pytest

from merchants.roles import Role
from tests.factories import make_merchant
from tests.helpers import Api


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
        from settlements.checks import ledger_problems

        problems = ledger_problems()
        assert not problems, "the ledger does not check clean after this test:\n" + "\n".join(problems)
    return result
