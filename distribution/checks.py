"""System checks that keep the tenancy rules true as the code grows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig, apps
from django.core import checks

from distribution.tenancy import TenantModel

if TYPE_CHECKING:
    from django.db.models import Model


@checks.register(checks.Tags.models)
def tenant_models_lead_indexes_with_merchant(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.Error]:
    return tenant_index_errors(apps.get_models())


def tenant_index_errors(models: Iterable[type[Model]]) -> list[checks.Error]:
    errors = []
    for model in models:
        if not issubclass(model, TenantModel) or model._meta.proxy:
            continue
        opts = model._meta
        leading = [idx.fields[0] for idx in opts.indexes if idx.fields]
        leading += [names[0] for c in opts.constraints if (names := getattr(c, "fields", None))]
        leading += [fields[0] for fields in opts.unique_together]
        merchant_field = opts.get_field("merchant")
        if merchant_field.unique:
            continue
        if "merchant" not in leading and "merchant_id" not in leading:
            errors.append(
                checks.Error(
                    f"{opts.label} is a TenantModel without an index or unique constraint leading with merchant",
                    hint="Add models.Index(fields=['merchant', ...]) or a UniqueConstraint starting with merchant.",
                    obj=model,
                    id="distribution.E001",
                )
            )
    return errors
