"""Payout accounts: where a distributor is paid (bank card, Alipay, WeChat openid), one default each.

The account's number and holder's name are encrypted at rest (distribution.crypto: the rotatable PII
keys) and shown masked; `payout_account_reveal` is the one way to the clear values, and it is audited.

*Verify* means the name check: the holder's name must be the distributor's verified real name
(compared after trimming and folding spaces and case). A match makes the account `verified`; a
difference makes it `mismatch`, which the merchant may approve with a reason (`approved`). Only a
verified or approved account is paid to. A WeChat openid is set by the merchant's server, which knows
its app user's openid (the distributor cannot type one in); WeChat itself checks the name of large
transfers, so a WeChat account is verified when it is set.

`Distributor.payout_openid` mirrors the live WeChat account: profit sharing (settlements.services.splits)
still reads it.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from distribution import crypto
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import NotFound
from distribution.pii import mask_email, mask_name, mask_phone
from distributors.errors import IdentityMissing
from distributors.models import Distributor
from merchants.models import Merchant
from settlements.errors import (
    DuplicatePayoutAccount,
    InvalidPayoutAccount,
    NoMismatchToApprove,
    PayoutAccountMissing,
    PayoutAccountNotUsable,
    PayoutAccountWrongKind,
)
from settlements.models import PayoutAccount, Withdrawal

KIND = PayoutAccount.Kind
ID = PayoutAccount.IdentityType
V = PayoutAccount.Verification
# The kinds of account each payout rail pays to.
RAIL_KINDS: dict[str, str] = {
    Withdrawal.Provider.MANUAL: KIND.BANK_CARD,
    Withdrawal.Provider.WECHAT_TRANSFER: KIND.WECHAT,
    Withdrawal.Provider.ALIPAY_TRANSFER: KIND.ALIPAY,
}
IDENTITY_TYPES: dict[str, tuple[str, ...]] = {
    KIND.BANK_CARD: (ID.CARD_NO,),
    KIND.ALIPAY: (ID.ALIPAY_LOGON_ID, ID.ALIPAY_USER_ID),
    KIND.WECHAT: (ID.OPENID,),
}
_CARD = re.compile(r"[0-9]{12,19}")
_PHONE = re.compile(r"1[0-9]{10}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}")
_ALIPAY_USER_ID = re.compile(r"2088[0-9]{12}")
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _fold_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def mask_identity(identity_type: str, identity: str) -> str:
    """'6222021234567890123' -> '6222***********0123'; a phone, an e-mail as elsewhere; an openid 'oAbCdE…'."""
    if identity_type == ID.OPENID:
        return identity[:6] + "…"
    if identity_type == ID.ALIPAY_LOGON_ID:
        return mask_email(identity) if "@" in identity else mask_phone(identity)
    return identity[:4] + "*" * (len(identity) - 8) + identity[-4:]


def clean_account(
    *, kind: str, identity_type: str, identity: str, real_name: str, bank_name: str, bank_branch: str
) -> dict[str, str]:
    """The account's details in canonical form, or InvalidPayoutAccount naming every problem."""
    identity = "".join(identity.split()) if kind == KIND.BANK_CARD else identity.strip()
    real_name, bank_name, bank_branch = real_name.strip(), bank_name.strip(), bank_branch.strip()
    errors: dict[str, list[str]] = {}
    if kind not in IDENTITY_TYPES:
        raise InvalidPayoutAccount(fields={"kind": [f"One of {', '.join(IDENTITY_TYPES)}."]})
    identity_type = identity_type or IDENTITY_TYPES[kind][0]
    if identity_type not in IDENTITY_TYPES[kind]:
        errors["identity_type"] = [f"For {kind}: one of {', '.join(IDENTITY_TYPES[kind])}."]
    elif identity_type == ID.CARD_NO and not _CARD.fullmatch(identity):
        errors["identity"] = ["A card number is 12 to 19 digits."]
    elif identity_type == ID.ALIPAY_LOGON_ID and not (_PHONE.fullmatch(identity) or _EMAIL.fullmatch(identity)):
        errors["identity"] = ["An Alipay login id is the account's mobile number or e-mail address."]
    elif identity_type == ID.ALIPAY_USER_ID and not _ALIPAY_USER_ID.fullmatch(identity):
        errors["identity"] = ["An Alipay user id is 16 digits starting with 2088."]
    elif identity_type == ID.OPENID and not _OPENID.fullmatch(identity):
        errors["identity"] = ["An openid is 1 to 64 letters, digits, - and _."]
    if kind != KIND.WECHAT and not 2 <= len(real_name) <= 64:
        errors["real_name"] = ["The account holder's full legal name."]
    if kind == KIND.BANK_CARD and not 2 <= len(bank_name) <= 80:
        errors["bank_name"] = ["The bank's name, e.g. 中国工商银行."]
    if kind != KIND.BANK_CARD and (bank_name or bank_branch):
        errors["bank_name" if bank_name else "bank_branch"] = ["Only a bank card has a bank."]
    if errors:
        raise InvalidPayoutAccount(fields=errors)
    return {
        "identity_type": identity_type,
        "identity": identity,
        "real_name": real_name,
        "bank_name": bank_name,
        "bank_branch": bank_branch,
    }


def name_check(distributor: Distributor, account: PayoutAccount) -> str:
    """The account's verification against the distributor's identity as it stands now."""
    if account.kind == KIND.WECHAT:
        return V.VERIFIED
    if account.verification == V.APPROVED:
        return V.APPROVED
    if not distributor.identity_verified or not distributor.real_name_encrypted:
        return V.UNVERIFIED
    identity_name = crypto.decrypt(distributor.real_name_encrypted)
    holder = crypto.decrypt(account.real_name_encrypted) if account.real_name_encrypted else ""
    return V.VERIFIED if _fold_name(holder) == _fold_name(identity_name) else V.MISMATCH


def _live(merchant: Merchant, distributor_id: int) -> Any:
    return PayoutAccount.objects.for_merchant(merchant).filter(distributor_id=distributor_id, removed_at__isnull=True)


def _lock_account(merchant: Merchant, account_id: int, distributor_id: int | None = None) -> PayoutAccount:
    accounts = PayoutAccount.objects.for_merchant(merchant).select_for_update().filter(removed_at__isnull=True)
    if distributor_id is not None:
        accounts = accounts.filter(distributor_id=distributor_id)
    account = accounts.filter(pk=account_id).first()
    if account is None:
        raise NotFound("Payout account not found.")
    return account


def _lock_distributor(merchant: Merchant, distributor_id: int) -> Distributor:
    """The distributor, locked: their accounts change one request at a time (one default, no duplicates)."""
    distributor = Distributor.objects.for_merchant(merchant).select_for_update().filter(pk=distributor_id).first()
    if distributor is None:
        raise NotFound("Distributor not found.")
    return distributor


def _audit(merchant: Merchant, actor: Actor, action: str, account: PayoutAccount, **changes: Any) -> None:
    audit_record(
        merchant=merchant,
        actor=actor,
        action=action,
        obj=account,
        changes={"kind": account.kind, "identity": account.identity_masked, **changes},
    )


@transaction.atomic
def payout_account_add(
    *,
    merchant: Merchant,
    actor: Actor,
    distributor_id: int,
    kind: str,
    identity: str,
    identity_type: str = "",
    real_name: str = "",
    bank_name: str = "",
    bank_branch: str = "",
    make_default: bool = False,
) -> PayoutAccount:
    """Add an account; its name is checked at once. The first live account becomes the default."""
    clean = clean_account(
        kind=kind,
        identity_type=identity_type,
        identity=identity,
        real_name=real_name,
        bank_name=bank_name,
        bank_branch=bank_branch,
    )
    distributor = _lock_distributor(merchant, distributor_id)
    identity_hash = crypto.keyed_hash(f"payout:{kind}", clean["identity"])
    live = _live(merchant, distributor.pk)
    if live.filter(kind=kind, identity_hash=identity_hash).exists():
        raise DuplicatePayoutAccount()
    first = not live.exists()
    if make_default and not first:
        live.filter(is_default=True).update(is_default=False)
    account = PayoutAccount(
        merchant=merchant,
        distributor=distributor,
        kind=kind,
        identity_type=clean["identity_type"],
        identity_encrypted=crypto.encrypt(clean["identity"]),
        identity_hash=identity_hash,
        identity_masked=mask_identity(clean["identity_type"], clean["identity"]),
        real_name_encrypted=crypto.encrypt(clean["real_name"]) if clean["real_name"] else "",
        real_name_masked=mask_name(clean["real_name"]),
        bank_name=clean["bank_name"],
        bank_branch=clean["bank_branch"],
        is_default=first or make_default,
    )
    account.verification = name_check(distributor, account)
    account.verified_at = timezone.now() if account.verification == V.VERIFIED else None
    account.save()
    _audit(merchant, actor, "payout_account.added", account, verification=account.verification)
    return account


@transaction.atomic
def payout_account_verify(
    *, merchant: Merchant, actor: Actor, account_id: int, distributor_id: int | None = None
) -> PayoutAccount:
    """Check the holder's name against the verified identity again (after the identity was verified)."""
    account = _lock_account(merchant, account_id, distributor_id)
    distributor = Distributor.objects.for_merchant(merchant).get(pk=account.distributor_id)
    if account.kind != KIND.WECHAT and not distributor.identity_verified:
        raise IdentityMissing("The holder's name is checked against a verified identity: there is none yet.")
    old, new = account.verification, name_check(distributor, account)
    if new != old:
        account.verification = new
        account.verified_at = timezone.now() if new == V.VERIFIED else None
        account.save(update_fields=["verification", "verified_at", "updated_at"])
        _audit(merchant, actor, "payout_account.verified", account, verification=[old, new])
    return account


@transaction.atomic
def payout_account_approve_mismatch(*, merchant: Merchant, actor: Actor, account_id: int, reason: str) -> PayoutAccount:
    """The merchant accepts an account whose holder is not the distributor's verified name (e.g. a spouse)."""
    account = _lock_account(merchant, account_id)
    if account.verification != V.MISMATCH:
        raise NoMismatchToApprove()
    account.verification = V.APPROVED
    account.mismatch_reason = reason[:500]
    account.decided_by = (actor.label or actor.kind)[:150]
    account.verified_at = timezone.now()
    account.save(update_fields=["verification", "mismatch_reason", "decided_by", "verified_at", "updated_at"])
    audit_record(
        merchant=merchant,
        actor=actor,
        action="payout_account.mismatch_approved",
        obj=account,
        changes={"verification": [V.MISMATCH, V.APPROVED], "identity": account.identity_masked},
        reason=reason,
    )
    return account


@transaction.atomic
def payout_account_set_default(
    *, merchant: Merchant, actor: Actor, account_id: int, distributor_id: int
) -> PayoutAccount:
    _lock_distributor(merchant, distributor_id)
    account = _lock_account(merchant, account_id, distributor_id)
    if not account.is_default:
        _live(merchant, distributor_id).filter(is_default=True).update(is_default=False)
        account.is_default = True
        account.save(update_fields=["is_default", "updated_at"])
        _audit(merchant, actor, "payout_account.default_set", account)
    return account


@transaction.atomic
def payout_account_remove(*, merchant: Merchant, actor: Actor, account_id: int, distributor_id: int) -> None:
    """Remove an account (kept, marked removed: withdrawals name it). Withdrawals already requested keep
    their snapshot of it and are paid as requested. The newest other account becomes the default."""
    distributor = _lock_distributor(merchant, distributor_id)
    account = _lock_account(merchant, account_id, distributor_id)
    account.removed_at = timezone.now()
    was_default, account.is_default = account.is_default, False
    account.save(update_fields=["removed_at", "is_default", "updated_at"])
    if was_default:
        successor = _live(merchant, distributor_id).order_by("-pk").first()
        if successor is not None:
            PayoutAccount.objects.for_merchant(merchant).filter(pk=successor.pk).update(is_default=True)
    if account.kind == KIND.WECHAT:
        _mirror_openid(merchant, distributor)
    _audit(merchant, actor, "payout_account.removed", account)


def _mirror_openid(merchant: Merchant, distributor: Distributor) -> None:
    account = _live(merchant, distributor.pk).filter(kind=KIND.WECHAT).order_by("-pk").first()
    openid = crypto.decrypt(account.identity_encrypted) if account is not None else ""
    Distributor.objects.for_merchant(merchant).filter(pk=distributor.pk).update(payout_openid=openid)


@transaction.atomic
def wechat_openid_set(*, merchant: Merchant, actor: Actor, distributor_id: int, openid: str) -> str:
    """The merchant's server sets the distributor's WeChat openid (blank removes it): the one live WeChat
    account, replaced when the openid changes."""
    distributor = _lock_distributor(merchant, distributor_id)
    current = _live(merchant, distributor.pk).filter(kind=KIND.WECHAT).first()
    if current is not None and openid and crypto.decrypt(current.identity_encrypted) == openid:
        return openid
    if current is not None:
        payout_account_remove(merchant=merchant, actor=actor, account_id=current.pk, distributor_id=distributor.pk)
    if openid:
        payout_account_add(
            merchant=merchant,
            actor=actor,
            distributor_id=distributor.pk,
            kind=KIND.WECHAT,
            identity=openid,
            make_default=current is not None and current.is_default,
        )
    _mirror_openid(merchant, distributor)
    return openid


def payout_account_reveal(*, merchant: Merchant, actor: Actor, account_id: int) -> dict[str, Any]:
    """The account with its number and holder's name in clear, for finance; each call is audited."""
    with transaction.atomic():
        account = PayoutAccount.objects.for_merchant(merchant).filter(pk=account_id).first()
        if account is None:
            raise NotFound("Payout account not found.")
        audit_record(
            merchant=merchant,
            actor=actor,
            action="payout_account.revealed",
            obj=account,
            changes={"fields": ["identity", "real_name"], "identity": account.identity_masked},
        )
    return {
        "account": account,
        "identity": crypto.decrypt(account.identity_encrypted),
        "real_name": crypto.decrypt(account.real_name_encrypted) if account.real_name_encrypted else "",
    }


def payout_destination(
    *, merchant: Merchant, distributor: Distributor, provider: str, account_id: int | None
) -> PayoutAccount:
    """The account a withdrawal through `provider` pays to: the one named, else the default when it is of
    the rail's kind, else the newest usable one of that kind."""
    kind = RAIL_KINDS.get(provider)
    live = _live(merchant, distributor.pk)
    if account_id is not None:
        account = live.filter(pk=account_id).first()
        if account is None:
            raise NotFound("Payout account not found.")
        if account.kind != kind:
            raise PayoutAccountWrongKind(fields={"payout_account": [f"This program pays to a {kind} account."]})
    else:
        candidates = live.filter(kind=kind, verification__in=PayoutAccount.USABLE)
        account = candidates.order_by("-is_default", "-pk").first()
        if account is None:
            raise PayoutAccountMissing(f"Add a {kind} payout account first (it is what this program pays to).")
    if not account.usable:
        raise PayoutAccountNotUsable()
    return account


def destination_fields(account: PayoutAccount) -> dict[str, Any]:
    """What a withdrawal keeps of its account at request time (the rail pays from this snapshot)."""
    return {
        "destination": account,
        "payee_kind": account.kind,
        "payee_name_encrypted": account.real_name_encrypted,
        "payee_identity_encrypted": account.identity_encrypted,
        "payee_identity_masked": account.identity_masked,
        "payee_bank_name": account.bank_name,
        "payee_bank_branch": account.bank_branch,
        "payout_account": crypto.decrypt(account.identity_encrypted) if account.kind == KIND.WECHAT else "",
    }
