"""Recruitment: agreement versions and recruitment entries (招募入口), and the links built from them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction

from catalog.models import Product
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import ValidationFailed
from distributors.errors import AgreementVersionExists, CodeExhausted
from distributors.models import Agreement, AgreementAcceptance, Distributor, RecruitmentEntry, new_invite_code
from merchants.models import DistributionProgram, Merchant


def current_agreement(merchant: Merchant) -> Agreement | None:
    return Agreement.objects.for_merchant(merchant).order_by("-published_at", "-id").first()


@transaction.atomic
def agreement_publish(*, merchant: Merchant, actor: Actor, version: str, title: str, body: str) -> Agreement:
    """Publish a new version; from now on applicants must accept it."""
    try:
        with transaction.atomic():
            agreement = Agreement.objects.create(merchant=merchant, version=version, title=title, body=body)
    except IntegrityError:
        raise AgreementVersionExists() from None
    audit_record(
        merchant=merchant,
        actor=actor,
        action="agreement.published",
        obj=agreement,
        changes={"version": [None, version]},
    )
    return agreement


def agreement_accept(*, merchant: Merchant, distributor: Distributor, agreement: Agreement) -> AgreementAcceptance:
    acceptance, _ = AgreementAcceptance.objects.get_or_create(
        merchant=merchant, distributor=distributor, agreement=agreement
    )
    return acceptance


@transaction.atomic
def entry_create(
    *, merchant: Merchant, actor: Actor, name: str, kind: str, product: Product | None = None
) -> RecruitmentEntry:
    if (kind == RecruitmentEntry.Kind.PRODUCT) != (product is not None):
        raise ValidationFailed(fields={"product": ["Required for a product entry, and only for one."]})
    for _ in range(5):
        try:
            with transaction.atomic():
                entry = RecruitmentEntry.objects.create(
                    merchant=merchant, code=new_invite_code(), name=name, kind=kind, product=product
                )
            break
        except IntegrityError:  # the code collided: draw another
            continue
    else:  # pragma: no cover - 31^8 codes per merchant
        raise CodeExhausted()
    audit_record(
        merchant=merchant,
        actor=actor,
        action="recruitment_entry.created",
        obj=entry,
        changes={"name": [None, name], "kind": [None, kind]},
    )
    return entry


@transaction.atomic
def entry_update(
    *, merchant: Merchant, actor: Actor, entry: RecruitmentEntry, changes: dict[str, Any]
) -> RecruitmentEntry:
    changed = {k: [getattr(entry, k), v] for k, v in changes.items() if getattr(entry, k) != v}
    if changed:
        for name, (_, value) in changed.items():
            setattr(entry, name, value)
        entry.save(update_fields=list(changed))
        audit_record(merchant=merchant, actor=actor, action="recruitment_entry.updated", obj=entry, changes=changed)
    return entry


def _link(base_url: str, path: str, **params: str) -> str | None:
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/{path}?{urlencode(params)}"


def invite_link(program: DistributionProgram, distributor: Distributor) -> str | None:
    """Where a recruit lands to apply under this distributor."""
    return _link(program.app_base_url, "distribution/join", invite=distributor.invite_code)


def share_link(program: DistributionProgram, distributor: Distributor) -> str | None:
    """A shop link that binds the customer who opens it to this distributor."""
    return _link(program.app_base_url, "", share=distributor.invite_code)


def entry_link(program: DistributionProgram, entry: RecruitmentEntry) -> str | None:
    params = {"entry": entry.code}
    if entry.product is not None:  # no query when the entry has none
        params["product"] = entry.product.external_id
    return _link(program.app_base_url, "distribution/join", **params)
