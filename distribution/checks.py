"""System checks that keep the tenancy rules true as the code grows."""

from __future__ import annotations

from django.apps import apps
from django.core import checks


@checks.register(checks.Tags.models)
def tenant_models_lead_indexes_with_merchant(app_configs=None, **kwargs):
    return tenant_index_errors(apps.get_models())


def tenant_index_errors(models) -> list[checks.Error]:
    from distribution.tenancy import TenantModel

    errors = []
    for model in models:
        if not issubclass(model, TenantModel) or model._meta.proxy:
            continue
        opts = model._meta
        leading = [idx.fields[0] for idx in opts.indexes if idx.fields]
        leading += [c.fields[0] for c in opts.constraints if getattr(c, "fields", None)]
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
