"""Tenancy in depth: row-level security makes a forgotten merchant filter harmless.

The suite connects as the application's role; these tests show that the database itself, not only the
application's scoping, keeps merchants apart: inside merchant A's request an unfiltered query sees none
of B's rows and cannot write into B, a session with no merchant sees nothing, and only the explicit
bypass crosses tenants.
"""

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings

from catalog.models import Product
from distribution import rls
from distribution.tenancy import TenantModel
from merchants.models import Merchant
from merchants.roles import Role
from tests.builders.factories import make_merchant
from tests.builders.world import build_world
from tests.security.rls_probe import visible_merchants

pytestmark = pytest.mark.django_db


@pytest.fixture
def worlds():
    return build_world("alpha"), build_world("beta")


def test_the_suite_connects_as_a_role_that_owns_nothing_and_cannot_bypass():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, superuser, bypassrls = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        owned = cursor.fetchone()[0]
    assert (user, superuser, bypassrls, owned) == (settings.DATABASE_APP_USER, False, False, 0)


def test_every_tenant_table_has_row_level_security_and_the_policy():
    tables = dict(rls.tenant_tables())
    from django.apps import apps

    expected = {m._meta.db_table for m in apps.get_models() if issubclass(m, TenantModel)} | {"merchants_merchant"}
    assert set(tables) == expected
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname
                WHERE c.relrowsecurity AND p.policyname = %s AND p.cmd = 'ALL'""",
            [rls.POLICY],
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert protected == expected


def test_a_forgotten_merchant_filter_inside_a_request_sees_only_that_merchant(worlds, api):
    a, b = worlds
    everything = visible_merchants()  # the test itself runs under the bypass: both worlds are there
    assert all(ids == sorted([a.pk, b.pk]) for table, ids in everything.items() if ids), everything
    with override_settings(ROOT_URLCONF="tests.security.rls_urls"):
        seen = api.staff(a, Role.OWNER).get("/forgetful").json()
    assert set(seen) == set(everything)
    leaked = {table: ids for table, ids in seen.items() if set(ids) - {a.pk}}
    assert not leaked, leaked
    assert sum(bool(ids) for ids in seen.values()) >= 25  # A's own rows are there, in most tables


def test_a_request_cannot_write_into_another_merchant(worlds, api):
    a, b = worlds
    before = sorted(Product.objects.unscoped().values_list("merchant_id", "title"))
    with override_settings(ROOT_URLCONF="tests.security.rls_urls"):
        body = api.api_key(a, Role.ADMIN).post("/forgetful", {"other": b.pk}, format="json").json()
    assert body == {"updated": 0, "planted": "ProgrammingError", "merchants": [a.pk], "state": [a.pk, False]}
    assert sorted(Product.objects.unscoped().values_list("merchant_id", "title")) == before


def test_without_a_merchant_a_session_sees_nothing(worlds):
    with rls.scope():
        assert not any(visible_merchants().values())
        assert not Merchant.objects.exists()
    assert Merchant.objects.count() == 2  # the bypass again


def test_a_tenant_task_sees_its_merchant_only(worlds):
    _, b = worlds

    @rls.tenant_task()
    def task(merchant_id):
        return visible_merchants()

    seen = task(merchant_id=b.pk)
    assert {ids[0] for ids in seen.values() if ids} == {b.pk} and all(len(ids) <= 1 for ids in seen.values())


def test_every_task_declares_its_tenant_context():
    from config.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    undeclared = [name for name, task in ours.items() if getattr(task.run, "tenant_context", None) is None]
    assert len(ours) >= 15 and not undeclared, undeclared


@pytest.mark.django_db(transaction=True)
def test_a_rollback_does_not_leave_the_session_in_another_state():
    """set_config is transactional: a rolled-back transaction undoes it. The backend sets it again."""
    a, _ = make_merchant("alpha"), make_merchant("beta")
    assert Merchant.objects.count() == 2  # the bypass is applied on the session now
    with rls.merchant(a.pk):
        with pytest.raises(RuntimeError), transaction.atomic():
            assert list(Merchant.objects.values_list("pk", flat=True)) == [a.pk]  # applied inside the transaction
            raise RuntimeError
        assert list(Merchant.objects.values_list("pk", flat=True)) == [a.pk]  # not the bypass it reverted to


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_the_current_state():
    a, _ = make_merchant("alpha"), make_merchant("beta")
    with rls.merchant(a.pk):
        connection.close()
        assert list(Merchant.objects.values_list("pk", flat=True)) == [a.pk]


def test_a_malformed_merchant_setting_fails_instead_of_matching(worlds):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.merchant_id', 'abc', false), set_config('app.rls_bypass', 'off', false)")
        with pytest.raises(Exception, match="invalid input syntax"), transaction.atomic():
            cursor.execute("SELECT count(*) FROM orders_product")
    connection.rls_applied = rls.UNKNOWN  # the test set the session by hand


@pytest.mark.django_db(transaction=True)
def test_the_ledger_balance_check_sees_every_posting_whatever_the_session_is_set_to(api):
    """The deferred balance trigger runs at commit, as its owner: a request's session state cannot hide
    postings from it (a whole order's commission is booked and committed inside one request)."""
    from tests.builders.orders import paid_body, setup_shop

    merchant = make_merchant("gamma")
    setup_shop(merchant)
    response = api.api_key(merchant, Role.OPERATOR).post("/api/v1/orders", paid_body("rls-1"), format="json")
    assert response.status_code == 201, response.content


def test_the_tree_view_shows_the_session_merchant_only_like_the_policy(worlds):
    """distributor_tree (the GIN-indexed way to a team) carries the policy's own condition."""
    a, b = worlds

    def tree_merchants():
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT merchant_id FROM distributor_tree ORDER BY 1")
            return [row[0] for row in cursor.fetchall()]

    assert tree_merchants() == sorted([a.pk, b.pk])  # the bypass
    with rls.merchant(a.pk):
        assert tree_merchants() == [a.pk]
    with rls.scope():
        assert tree_merchants() == []


def test_a_team_read_in_another_merchants_context_is_empty(worlds):
    from distributors import selectors
    from distributors.models import Distributor

    a, b = worlds
    top = Distributor.objects.for_merchant(a).get(external_user_id="alpha-app-user")
    with rls.merchant(a.pk):
        assert selectors.team_counts(top)["total"] == 2 and selectors.team(top).count() == 2
    with rls.merchant(b.pk):  # a forgotten scope: the ids of A's tree, read in B's session
        assert selectors.team_counts(top)["total"] == 0 and selectors.team(top).count() == 0
