"""The input rules that keep holding as code is added (issue 11's classes of bug, not their instances):

* numbers are parsed from ASCII digits only: no `\\d` (which matches every script's digits) and no
  `str.isdigit()` (true for '²') in application code; distribution.inputs and [0-9] instead;
* serializers use the strict kernel fields: no DRF IntegerField, DateTimeField or ModelSerializer directly;
* every spreadsheet file is written by distribution.exports (formula-safe): no csv.writer or openpyxl
  elsewhere.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.helpers import project_apps

ROOT = Path(__file__).resolve().parent.parent.parent
APP_DIRS = project_apps()  # from INSTALLED_APPS: risk, demo and every new app included


def app_files():
    for app in APP_DIRS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def offences(predicate) -> list[str]:
    found = []
    for path in app_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            message = predicate(path, node)
            if message:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {message}")
    return found


def test_no_unicode_digit_patterns_or_isdigit_in_application_code():
    def check(path, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"\\d", node.value):
            return f"regex with \\d: {node.value!r}"
        if isinstance(node, ast.Attribute) and node.attr in {"isdigit", "isnumeric", "isdecimal"}:
            if path.name != "identifiers.py":  # identifiers.fold maps other scripts' digits on purpose
                return f".{node.attr}()"
        return None

    assert not offences(check), "\n".join(offences(check))


def test_serializers_use_the_strict_kernel_fields():
    strict = {"IntegerField", "DateTimeField", "ModelSerializer", "DecimalField", "FloatField"}

    def check(path, node):
        if path.parent.name == "api" and path.parent.parent.name == "distribution":
            return None
        if (
            isinstance(node, ast.Attribute)
            and node.attr in strict
            and isinstance(node.value, ast.Name)
            and node.value.id == "serializers"
        ):
            return f"serializers.{node.attr}"
        return None

    assert not offences(check), "\n".join(offences(check))


def test_spreadsheet_files_are_written_by_distribution_exports_only():
    def check(path, node):
        if path.name == "exports.py" and path.parent.name == "distribution":
            return None
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"writer", "DictWriter"}
            and getattr(node.value, "id", "") == "csv"
        ):
            return f"csv.{node.attr}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
            if any(n.split(".")[0] == "openpyxl" for n in names):
                return "openpyxl"
        return None

    assert not offences(check), "\n".join(offences(check))
