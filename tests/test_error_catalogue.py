"""Every error code the API can answer with is declared in its app's catalogue, listed in docs/errors.md,
and named in the OpenAPI responses of the operations of that app."""

from __future__ import annotations

import re
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

from distribution.catalogue import catalogue, codes_for, markdown
from tests.helpers import project_apps

ROOT = Path(__file__).resolve().parent.parent
RAISED = re.compile(r'(?:raise (?!forms\.)[A-Za-z_.]+\(.*?code="(?P<a>[a-z_]+)"|error_body\(\s*"(?P<b>[a-z_]+)")', re.S)


def test_docs_errors_md_is_the_catalogue():
    assert (ROOT / "docs" / "errors.md").read_text() == markdown(), "run: manage.py error_catalogue > docs/errors.md"


def test_every_code_raised_in_the_code_is_declared():
    declared = {entry.code for entry in catalogue()}
    raised = set()
    for app in project_apps():
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for match in RAISED.finditer(path.read_text()):
                raised.add(match["a"] or match["b"])
    assert raised, "the scan found nothing: its pattern is wrong"
    assert sorted(raised - declared) == []


def test_codes_are_unique_and_have_a_status_and_a_meaning():
    entries = catalogue()
    assert len({e.code for e in entries}) == len(entries)
    assert all(400 <= e.status <= 599 and e.meaning for e in entries)
    assert {"not_staff", "no_webhook_endpoint", "identity_not_verified", "trailing_slash"} <= {e.code for e in entries}


def test_each_operation_names_the_codes_of_each_error_status():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    create = schema["paths"]["/api/v1/webhook-endpoint"]["post"]["responses"]
    assert "`webhook_endpoint_exists`" in create["409"]["description"]
    withdraw = schema["paths"]["/api/v1/distributor/withdrawals"]["post"]["responses"]
    assert "`identity_not_verified`" in withdraw["422"]["description"]
    assert "`insufficient_balance`" in withdraw["422"]["description"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.isdigit() and int(status) >= 400 and codes_for("distribution", int(status)):
                    assert response["description"].startswith("Error codes: "), (path, method, status)
