"""Tenancy in depth: PostgreSQL row-level security behind the application's own scoping.

The application already scopes every read (`for_merchant()`, the base API views, TenantRelatedField). This
module makes a forgotten scope harmless as well: every tenant table carries a policy that shows and
accepts only the rows of the merchant set for the database session, and the application connects as a
role that does not own the tables, so it cannot switch the policies off.

What a session may see is one of three states, kept per thread (a ContextVar) and sent to PostgreSQL as
two settings before the next query that needs them (distribution/dbbackend applies them lazily, one round
trip per change, and again after any rollback, which would have undone them):

* no merchant, no bypass: nothing at all (the state every request and task starts in, and a new
  connection's state) — forgetting to set the merchant fails closed;
* a merchant (`app.merchant_id`): that merchant's rows only, set by the request's authentication from
  its credential (`use_merchant`) and by each task from its arguments (`tenant_task`);
* the bypass (`app.rls_bypass = on`): every merchant's rows, for deliberate cross-tenant work only —
  platform jobs and sweeps (`platform_task`), credential lookups before the merchant is known, operators
  in the admin, management commands. It is spelled `rls.bypass()` (or `rls.process_bypass()` for a whole
  benchmark process), so `grep -rn "bypass("` lists every place that crosses tenants.

The policies are (re)made after every `migrate` (`ensure_policies`, run as the tables' owner), for every
TenantModel, so a new tenant table cannot be left without one.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import connections

if TYPE_CHECKING:
    from django.apps import AppConfig
    from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")

POLICY = "tenant_isolation"
MERCHANT_SETTING = "app.merchant_id"
BYPASS_SETTING = "app.rls_bypass"
# The row filter of every policy. NULLIF(...)::bigint: an unset or empty setting matches no row; a value
# that is not a number makes the query fail instead of matching something.
_VISIBLE = (
    "{column} = NULLIF(current_setting('" + MERCHANT_SETTING + "', true), '')::bigint"
    " OR current_setting('" + BYPASS_SETTING + "', true) = 'on'"
)
SET_SQL = f"SELECT set_config('{MERCHANT_SETTING}', %s, false), set_config('{BYPASS_SETTING}', %s, false)"


class State(NamedTuple):
    merchant_id: int | None
    bypass: bool

    def params(self) -> list[str]:
        return ["" if self.merchant_id is None else str(int(self.merchant_id)), "on" if self.bypass else "off"]


NOTHING = State(None, False)
BYPASS = State(None, True)
UNKNOWN = State(-1, True)  # what a connection holds after a rollback: never equal to a wanted state

_state: ContextVar[State] = ContextVar("rls_state", default=NOTHING)


def current() -> State:
    return _state.get()


def bypassed() -> bool:
    return _state.get().bypass


@contextlib.contextmanager
def _in_state(state: State) -> Iterator[None]:
    token = _state.set(state)
    try:
        yield
    finally:
        _state.reset(token)


def scope() -> contextlib._GeneratorContextManager[None]:
    """A fresh, fail-closed state for one request or task; the state before it is restored afterwards."""
    return _in_state(NOTHING)


def use_merchant(merchant_id: int) -> None:
    """From here to the end of the current scope, this merchant's rows only (the bypass ends too)."""
    _state.set(State(int(merchant_id), False))


def merchant(merchant_id: int) -> contextlib._GeneratorContextManager[None]:
    """This merchant's rows only, inside the block."""
    return _in_state(State(int(merchant_id), False))


def bypass() -> contextlib._GeneratorContextManager[None]:
    """Every merchant's rows, inside the block (or the decorated function): the one way to cross tenants on
    purpose."""
    return _in_state(BYPASS)


def process_bypass() -> None:
    """The bypass for the rest of this thread's current context: for a process that is a platform job as a
    whole (a benchmark run, a one-off script), where no block can enclose the work."""
    _state.set(BYPASS)


# --- tasks --------------------------------------------------------------------------------------------
def tenant_task(
    merchant_of: Callable[[dict[str, Any]], int | None] | None = None,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Run a task body in its merchant's context: its `merchant_id` argument, or `merchant_of(arguments)`
    (which may read the task's own row under the bypass to find it). With no merchant found, the body runs
    in the fail-closed state and sees nothing."""

    def decorator(fn: Callable[_P, _R]) -> Callable[_P, _R]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            arguments = signature.bind_partial(*args, **kwargs).arguments
            with scope():
                if merchant_of is None:
                    merchant_id = arguments.get("merchant_id")
                else:
                    with bypass():
                        merchant_id = merchant_of(arguments)
                if merchant_id is not None:
                    use_merchant(merchant_id)
                return fn(*args, **kwargs)

        wrapper.tenant_context = "merchant"  # type: ignore[attr-defined]  # a mark on the function, read by a test
        return wrapper

    return decorator


def platform_task(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """A task that works across merchants (a sweep, a fan-out, a cleanup): its body runs under the bypass."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with scope(), bypass():
            return fn(*args, **kwargs)

    wrapper.tenant_context = "platform"  # type: ignore[attr-defined]  # a mark on the function, read by a test
    return wrapper


def no_tenant_data(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """A task that reads no tenant table (a ping, the outbox, job records): it runs fail-closed."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with scope():
            return fn(*args, **kwargs)

    wrapper.tenant_context = "none"  # type: ignore[attr-defined]  # a mark on the function, read by a test
    return wrapper


# --- the database side ---------------------------------------------------------------------------------
def tenant_tables() -> list[tuple[str, str]]:
    """(table, merchant column) of every table a policy protects: each TenantModel's, and the merchants."""

    from distribution.tenancy import TenantModel  # a model module: this one is read before the app registry

    Merchant = apps.get_model(settings.TENANT_MODEL)
    tables = {Merchant._meta.db_table: Merchant._meta.pk.column}
    for model in apps.get_models():
        if issubclass(model, TenantModel) and not model._meta.proxy and model._meta.managed:
            tables[model._meta.db_table] = model._meta.get_field("merchant").column
    return sorted(tables.items())


def policy_sql(table: str, column: str, quote: Callable[[str], str]) -> list[str]:
    visible = _VISIBLE.format(column=quote(column))
    return [
        f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)}",
        f"CREATE POLICY {POLICY} ON {quote(table)} USING ({visible}) WITH CHECK ({visible})",
    ]


def ensure_policies(connection: BaseDatabaseWrapper) -> int:
    """Enable row-level security with the tenant policy on every tenant table (as the tables' owner).
    Idempotent; returns the number of tables."""
    tables = tenant_tables()
    with connection.cursor() as cursor:
        for table, column in tables:
            for statement in policy_sql(table, column, connection.ops.quote_name):
                cursor.execute(statement)
    return len(tables)


def grant_sql(role: str, quote: Callable[[str], str]) -> list[str]:
    """What the application role may do: read and write rows (under the policies), use the sequences.
    Not: own, alter, drop or truncate a table, or bypass a policy."""
    role = quote(role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
    ]


def role_exists(connection: BaseDatabaseWrapper, role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


def create_app_role(connection: BaseDatabaseWrapper, role: str, password: str = "") -> None:
    """The application's login role: no superuser, no BYPASSRLS, owns nothing (made if missing)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # (made by another process in between, e.g. a parallel test worker: that is fine too)
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {quote(role)} LOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        cursor.execute(f"ALTER ROLE {quote(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        if password:
            cursor.execute(f"ALTER ROLE {quote(role)} PASSWORD %s", [password])
        for statement in grant_sql(role, quote):
            cursor.execute(statement)


def grant_app_role(connection: BaseDatabaseWrapper, role: str) -> bool:
    """Grants for the application role on every table (after a migration made new ones), if it exists."""
    if not role or not role_exists(connection, role):
        return False
    with connection.cursor() as cursor:
        for statement in grant_sql(role, connection.ops.quote_name):
            cursor.execute(statement)
    return True


def owns_tables(connection: BaseDatabaseWrapper) -> bool:
    """Whether this session may alter the tenant tables (it is their owner, or a member of the owner)."""

    Merchant = apps.get_model(settings.TENANT_MODEL)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(current_user, relowner, 'MEMBER') FROM pg_class WHERE relname = %s",
            [Merchant._meta.db_table],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def after_migrate(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: policies on every tenant table, grants for the application role. Runs once per migrate
    (for the kernel app's signal), as the tables' owner."""

    connection = connections[using]
    if not owns_tables(connection):  # e.g. the test runner's flush, as the application role: nothing to do
        return
    with bypass():
        count = ensure_policies(connection)
        granted = grant_app_role(connection, settings.DATABASE_APP_USER)
    logger.info("row-level security on %s tables; grants for %s: %s", count, settings.DATABASE_APP_USER, granted)
