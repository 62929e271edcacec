"""Finding 11: HTTP hardening. With the production settings given by environment, `check --deploy` is
clean; API answers are never cached and vary by credential; pages carry a Content-Security-Policy and load
only what the server serves."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from merchants.roles import Role

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DJANGO_BEHIND_TLS_PROXY": "true",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_SECURE_COOKIES": "true",
}


def deploy_check(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION, **extra}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_no_warning_under_production_settings():
    result = deploy_check({})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_names_what_is_missing():
    result = deploy_check({"DJANGO_SECURE_HSTS_SECONDS": "0", "DJANGO_SECURE_SSL_REDIRECT": "false"})
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout and "security.W008" in result.stderr + result.stdout


def _private(response):
    assert response["Cache-Control"] == "no-store", response.headers
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert {"authorization", "x-api-key", "cookie"} <= vary, response["Vary"]


def test_api_answers_are_not_cached_and_vary_by_credential(api, merchant):
    client = api.api_key(merchant, Role.VIEWER)
    _private(client.get("/api/v1/me"))
    _private(client.get("/api/v1/products"))
    _private(client.get("/api/v1/no-such-thing"))  # a 404 too
    _private(APIClient().get("/api/v1/me"))  # and a 401
    _private(APIClient().post("/api/v1/auth/token", {"username": "x", "password": "y"}, format="json"))


@pytest.mark.parametrize("url", ["/admin/login/", "/api/docs", "/api/redoc"])
def test_pages_carry_a_csp_and_load_nothing_from_elsewhere(client, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script would be blocked by the CSP"
    assert not re.search(r"""(src|href)=["']https?://""", html), "a page loads only what the server serves"


def test_the_swagger_page_script_is_served_by_the_server(client):
    html = client.get("/api/docs").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert any("script" in s for s in scripts), scripts
    for src in scripts:
        assert client.get(src).status_code == 200, src
