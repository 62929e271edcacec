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
