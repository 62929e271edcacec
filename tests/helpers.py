"""Helpers shared by the tests: API clients that authenticate like real callers, the error-shape check, and
threads that race each other on real connections."""

from __future__ import annotations

import contextvars
import threading

from django.db import connections
from django.test import RequestFactory
from rest_framework.test import APIClient

from merchants.roles import Role
from merchants.services.credentials import staff_login
from tests.builders.factories import make_api_key, make_distributor_token, make_member

PASSWORD = "correct horse battery"


def login_request():
    """A login request as the token endpoint receives one (failed logins are counted per request's address)."""
    return RequestFactory().post("/api/v1/auth/token", REMOTE_ADDR="127.0.0.1")


class Api:
    """Builds API clients that authenticate the way real callers do."""

    def staff(self, merchant, role: str = Role.OWNER, username: str | None = None) -> APIClient:
        membership = make_member(merchant, role, username=username)
        _, key = staff_login(
            request=login_request(), username=membership.user.username, password=PASSWORD, merchant_slug=merchant.slug
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        client.membership = membership
        return client

    def api_key(self, merchant, role: str = Role.ADMIN) -> APIClient:
        api_key, key = make_api_key(merchant, role=role)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        client.api_key = api_key
        return client

    def distributor(self, merchant, external_user_id: str = "app-user-1") -> APIClient:
        token, key = make_distributor_token(merchant, external_user_id=external_user_id)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        client.token = token
        return client

    def anonymous(self) -> APIClient:
        return APIClient()


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape, with the expected status and code."""
    assert response.status_code == status, (response.status_code, getattr(response, "data", response.content))
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"]), body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def parallel(n: int, fn) -> list:
    """Run fn(0) … fn(n - 1) in n threads released together, each on its own database connection; the
    results in order. Any exception in a thread fails the test."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list = []

    def go(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # each thread starts from a copy of the caller's context (its row-level-security state, distribution.rls)
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(go, i)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def project_apps() -> list[str]:
    """The project's own apps, from INSTALLED_APPS (so a new app is covered by every rule that walks them)."""
    from pathlib import Path

    from django.apps import apps

    root = Path(__file__).resolve().parent.parent
    return sorted(c.name for c in apps.get_app_configs() if "." not in c.name and (root / c.name).is_dir())
