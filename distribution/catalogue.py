"""The error catalogue: every code the API answers with, from each app's `errors.py` (its classes and its
`CODES` table). `manage.py error_catalogue` writes docs/errors.md from it, and the OpenAPI schema lists each
status's codes on every operation (distribution/api/schema.py)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from functools import cache

from django.apps import apps

from distribution.errors import ApplicationError


@cache
def catalogue_apps() -> tuple[str, ...]:
    """Every installed app of the project that declares error codes (an `errors` module), in INSTALLED_APPS
    order: a new app's codes join the catalogue without a list to update."""

    return tuple(c.name for c in apps.get_app_configs() if importlib.util.find_spec(f"{c.name}.errors") is not None)


@dataclass(frozen=True)
class Entry:
    app: str
    code: str
    status: int
    meaning: str


@cache
def catalogue() -> tuple[Entry, ...]:
    entries: dict[str, Entry] = {}
    for app in catalogue_apps():
        module = importlib.import_module(f"{app}.errors")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, ApplicationError) and cls.__module__ == module.__name__:
                entries.setdefault(cls.code, Entry(app, cls.code, cls.status_code, _meaning(cls)))
        for code, (status, meaning) in getattr(module, "CODES", {}).items():  # the table says it best
            entries[code] = Entry(app, code, status, meaning)
    return tuple(sorted(entries.values(), key=lambda e: (catalogue_apps().index(e.app), e.status, e.code)))


def _meaning(cls: type[ApplicationError]) -> str:
    return " ".join((cls.default_message or "").split())


def codes_for(app: str, status: int) -> list[str]:
    """The codes an operation of `app` may answer with `status`: the kernel's and the app's own."""
    return [e.code for e in catalogue() if e.status == status and e.app in ("distribution", app)]


def markdown() -> str:
    lines = [
        "# Error codes",
        "",
        'Every refusal is `{"error": {"code", "message", "fields"}}` with one of these codes. A code is stable:',
        "match on it, not on the message. `fields` names each field at fault (`items[0].quantity`); some codes",
        "add keys of their own (`required_permission` and `role` with `permission_denied`, `run` with a run",
        "already in progress). The OpenAPI schema lists, for each operation and status, the codes it may answer.",
        "This page is generated from the code (`manage.py error_catalogue > docs/errors.md`); a test keeps it so.",
        "",
    ]
    titles = {
        "distribution": "Every endpoint",
        "merchants": "Merchants, staff, credentials",
        "catalog": "Products",
        "distributors": "Distributors, recruitment, bindings, levels",
        "orders": "Orders, webhooks",
        "commissions": "Commission",
        "settlements": "Settlement, withdrawals, payouts",
        "risk": "Risk",
        "analytics": "Analytics",
    }
    for app in catalogue_apps():
        entries = [e for e in catalogue() if e.app == app]
        if not entries:
            continue
        lines += [f"## {titles.get(app, app)} (`{app}`)", "", "| status | code | meaning |", "|---:|---|---|"]
        lines += [f"| {e.status} | `{e.code}` | {e.meaning.replace('|', '/')} |" for e in entries]
        lines.append("")
    return "\n".join(lines)
