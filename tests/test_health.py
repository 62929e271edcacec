"""Liveness and readiness probes."""

import pytest
from rest_framework.test import APIClient

from config.celery import app

pytestmark = pytest.mark.django_db


def test_healthz_is_alive():
    assert APIClient().get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_migrations_redis_and_broker():
    response = APIClient().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "redis": "ok", "broker": "ok"},
    }


def test_readyz_says_which_dependency_is_down(monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = APIClient().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error:")
