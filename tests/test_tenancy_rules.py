"""The tenancy rules that keep holding as code is added: scoped reads, indexes led by merchant."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from distribution.checks import tenant_index_errors, tenant_models_lead_indexes_with_merchant
from distribution.tenancy import TenantModel
from tests.helpers import project_apps

ROOT = Path(__file__).resolve().parent.parent
APPS = project_apps()  # from INSTALLED_APPS: risk, demo and every new app included
# Manager methods that do not read across tenants: writes that must name the merchant, and the
# credential lookups, which find a row by its unique key before the merchant is known.
ALLOWED = {
    "for_merchant",
    "unscoped",
    "create",
    "bulk_create",
    "get_or_create",
    "update_or_create",
    "assign_key",
    "find_usable",
    "key_generator",
}


def tenant_model_names() -> set[str]:
    return {m.__name__ for m in apps.get_models() if issubclass(m, TenantModel)}


def test_tenant_models_are_read_only_through_for_merchant_or_unscoped():
    names = tenant_model_names()
    offences = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "objects"
                    and isinstance(node.value.value, ast.Name)
                    and node.value.value.id in names
                    and node.attr not in ALLOWED
                ):
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.value.id}.objects.{node.attr}")
    assert not offences, "unscoped reads of tenant models:\n" + "\n".join(offences)


@isolate_apps("distribution")
def test_a_tenant_model_without_a_merchant_index_fails_the_system_check():
    class Unindexed(TenantModel):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "distribution"
            indexes = [models.Index(fields=["name"], name="unindexed_name")]

    class Indexed(TenantModel):
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "distribution"
            indexes = [models.Index(fields=["merchant", "name"], name="indexed_name")]

    errors = tenant_index_errors([Unindexed, Indexed])
    flagged = {e.obj.__name__ for e in errors}
    assert flagged == {"Unindexed"}
    assert errors[0].id == "distribution.E001"


def test_every_real_tenant_model_passes_the_check():
    assert tenant_models_lead_indexes_with_merchant() == []
