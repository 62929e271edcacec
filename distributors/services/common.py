"""Helpers shared by the distributor services: locks and lookups that every write needs."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from distribution import crypto
from distribution.db import advisory_lock
from distribution.errors import ApplicationError, NotFound
from distribution.tenancy import TenantQuerySet
from distributors.errors import InvalidShareCode
from distributors.models import BlacklistEntry, Distributor
from merchants.models import Merchant


def lock_tree(merchant: Merchant, *, shared: bool) -> None:
    """Readers of the invite tree's paths take it shared; re-parenting a subtree takes it exclusive."""
    advisory_lock("invite-tree", merchant.pk, shared=shared)


def live_blacklist(merchant: Merchant) -> TenantQuerySet[BlacklistEntry]:
    now = timezone.now()
    return BlacklistEntry.objects.for_merchant(merchant).filter(removed_at__isnull=True).exclude(expires_at__lte=now)


def lock_distributor(merchant: Merchant, distributor_id: int) -> Distributor:
    distributor = Distributor.objects.for_merchant(merchant).select_for_update().filter(pk=distributor_id).first()
    if distributor is None:
        raise NotFound("Distributor not found.")
    return distributor


def distributor_by_code(
    merchant: Merchant, code: str, *, error: type[ApplicationError] = InvalidShareCode
) -> Distributor:
    distributor = Distributor.objects.for_merchant(merchant).filter(invite_code=code.strip().upper()).first()
    if distributor is None:
        raise error()
    return distributor


def distributor_hash(distributor_id: int) -> str:
    return crypto.keyed_hash("distributor", str(distributor_id))


def matching_entries(entries: QuerySet[BlacklistEntry], distributor: Distributor) -> QuerySet[BlacklistEntry]:
    """Entries (a queryset) that match this distributor by any of its identities."""
    kind = BlacklistEntry.Kind
    conditions = Q(kind=kind.DISTRIBUTOR, value_hash=distributor_hash(distributor.pk)) | Q(
        kind=kind.EXTERNAL_USER_ID, value_hash=crypto.keyed_hash(kind.EXTERNAL_USER_ID, distributor.external_user_id)
    )
    if distributor.phone_hash:
        conditions |= Q(kind=kind.PHONE, value_hash=distributor.phone_hash)
    if distributor.id_number_hash:
        conditions |= Q(kind=kind.ID_NUMBER, value_hash=distributor.id_number_hash)
    return entries.filter(conditions)


def matching_entry(merchant: Merchant, distributor: Distributor) -> BlacklistEntry | None:
    return matching_entries(live_blacklist(merchant), distributor).first()
