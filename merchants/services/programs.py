"""Program settings (分销方案): the rules of a merchant's distribution program, checked together and
audited field by field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from distribution.audit import audit_record, diff, snapshot
from distribution.auth import Actor
from distribution.errors import ValidationFailed
from merchants.errors import CommissionDepthNotAllowed
from merchants.models import DistributionProgram, Merchant
from merchants.schedule import sync_settlement_schedule
from merchants.signals import program_validating

PROGRAM_FIELDS = [
    f.name for f in DistributionProgram._meta.concrete_fields if f.name not in {"id", "merchant", "updated_at"}
]
SCHEDULE_FIELDS = {"settlement_schedule", "settlement_hour", "settlement_weekday", "settlement_monthday"}


def _validate_program(program: DistributionProgram) -> None:
    if not 1 <= program.commission_depth <= 3:
        raise CommissionDepthNotAllowed(fields={"commission_depth": ["Must be 1, 2 or 3."]})
    errors: dict[str, list[str]] = {}
    try:
        program.full_clean(exclude=["merchant"], validate_constraints=False)
    except DjangoValidationError as exc:
        errors.update(exc.message_dict)
    if program.binding_validity_days is not None and program.binding_protection_days > program.binding_validity_days:
        errors.setdefault("binding_protection_days", []).append("Cannot be longer than the binding validity.")
    if program.withdrawal_min_amount > program.withdrawal_daily_max_amount:
        errors.setdefault("withdrawal_min_amount", []).append("Cannot be above the daily maximum.")
    errors.update(_tax_problems(program))
    total = sum(program.rate_bps_for_depth(d) for d in range(1, program.commission_depth + 1))
    if total > 10_000:
        errors.setdefault("depth1_rate_bps", []).append("The rates of all depths add up to more than 100%.")
    if errors:
        raise ValidationFailed(fields=errors)


def _tax_problems(program: DistributionProgram) -> dict[str, list[str]]:
    """The tax mode and its settings agree: a flat rate only in flat-rate mode; 劳务报酬 withholding is in
    yuan (CNY), needs every payee's identity for the filing, and is withheld from withdrawals, so commission
    cannot also be split straight to distributors (a split withholds nothing)."""
    mode = DistributionProgram.TaxMode
    errors: dict[str, list[str]] = {}
    if program.tax_mode != mode.FLAT_RATE and program.tax_withholding_bps:
        errors["tax_withholding_bps"] = ["Only used with tax_mode flat_rate: set it to 0."]
    if program.tax_mode == mode.LABOUR_REMUNERATION:
        if program.merchant.currency != "CNY":
            errors["tax_mode"] = ["Labour remuneration withholding is computed in CNY; the merchant's currency is not."]
        if not program.withdrawal_requires_real_name:
            errors["withdrawal_requires_real_name"] = [
                "Labour remuneration withholding needs the payee's identity: must be true."
            ]
        if program.settlement_provider == DistributionProgram.SettlementProvider.WECHAT_PROFITSHARING:
            errors["settlement_provider"] = [
                "Profit sharing pays commission without withholding: use wallet with labour remuneration."
            ]
    return errors


@transaction.atomic
def program_update(
    *, merchant: Merchant, actor: Actor, changes: dict[str, Any], reason: str = ""
) -> DistributionProgram:
    """Change program settings; every changed field is audited with its old and new value."""
    program = DistributionProgram.objects.for_merchant(merchant).select_for_update().get()
    before = snapshot(program, PROGRAM_FIELDS)
    for field, value in changes.items():
        if field not in PROGRAM_FIELDS:
            raise ValidationFailed(fields={field: ["Unknown setting."]})
        setattr(program, field, value)
    _validate_program(program)
    program_validating.send(sender=DistributionProgram, merchant=merchant, program=program)
    changed = diff(before, snapshot(program, PROGRAM_FIELDS))
    if changed:
        program.save(update_fields=[*changed, "updated_at"])
        audit_record(
            merchant=merchant, actor=actor, action="program.updated", obj=program, changes=changed, reason=reason
        )
        if SCHEDULE_FIELDS & set(changed):
            sync_settlement_schedule(merchant)
    return program
