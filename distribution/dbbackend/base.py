"""PostgreSQL, with the tenant context of distribution.rls sent before the queries that need it.

The wanted state (no merchant, a merchant, or the bypass) lives in Python; the session's settings follow
it lazily: before a query, if the session does not hold the wanted state, one `set_config` round trip sets
both settings. A rollback undoes settings made inside the transaction or savepoint, so after one the
session's state counts as unknown and is set again before the next query.

Settings are session-level, bracketed by distribution.rls scopes: a connection pooler in front of
PostgreSQL must therefore hand out whole sessions (pgbouncer's session mode), not transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.postgresql import base

from distribution import rls


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rls_applied: rls.State = rls.UNKNOWN
        self.execute_wrappers.insert(0, self._with_tenant_context)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        self.rls_applied = rls.NOTHING  # a new session has neither setting: it sees nothing
        return connection

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # Django's private hook, left out of the stubs
        finally:
            self.rls_applied = rls.UNKNOWN

    def _savepoint_rollback(self, sid: str) -> None:
        try:
            super()._savepoint_rollback(sid)  # type: ignore[misc]  # Django's private hook, left out of the stubs
        finally:
            self.rls_applied = rls.UNKNOWN

    def _with_tenant_context(
        self,
        execute: Callable[[str, Any, bool, dict[str, Any]], Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        wanted = rls.current()
        if wanted != self.rls_applied:
            with self.wrap_database_errors, self.connection.cursor() as cursor:
                cursor.execute(rls.SET_SQL, wanted.params())
            self.rls_applied = wanted
        return execute(sql, params, many, context)
