"""Real-name identity (实名): stored encrypted, matched by keyed hash, shown masked."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from distribution import crypto
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.identifiers import ID_NUMBER_CHARS, canonical_id_number
from distribution.pii import mask_id_number, mask_name
from distributors.errors import ApplicantBlacklisted, IdentityMissing, InvalidIdNumber
from distributors.models import Distributor
from distributors.services.common import live_blacklist, lock_distributor
from merchants.models import Merchant

ID_TYPES = ("cn_resident", "passport", "hk_macau_permit", "taiwan_permit")
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def valid_cn_resident_id(number: str) -> bool:
    """GB 11643-1999: 17 digits and a check character (ISO 7064 MOD 11-2), with a plausible birth date."""
    number = number.upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        return False
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _CN_WEIGHTS, strict=True))
    return _CN_CHECK[total % 11] == number[17]


def clean_identity(*, real_name: str, id_type: str, id_number: str) -> tuple[str, str, str]:
    """The identity in canonical form (distribution.identifiers), or InvalidIdNumber with every problem."""
    real_name = real_name.strip()
    id_number = canonical_id_number(id_number)
    errors: dict[str, list[str]] = {}
    if not 2 <= len(real_name) <= 64:
        errors["real_name"] = ["Give the full legal name."]
    if id_type not in ID_TYPES:
        errors["id_type"] = [f"One of {', '.join(ID_TYPES)}."]
    elif id_type == "cn_resident" and not valid_cn_resident_id(id_number):
        errors["id_number"] = ["Not a valid 18-character resident ID number."]
    elif not ID_NUMBER_CHARS.fullmatch(id_number):
        errors["id_number"] = ["Not a valid document number: 5 to 32 letters A-Z and digits."]
    if errors:
        raise InvalidIdNumber(fields=errors)
    return real_name, id_type, id_number


def identity_fields(*, real_name: str, id_type: str, id_number: str, verified: bool) -> dict[str, Any]:
    """The model fields for an identity (already cleaned)."""
    now = timezone.now()
    return {
        "real_name_encrypted": crypto.encrypt(real_name),
        "real_name_masked": mask_name(real_name),
        "id_type": id_type,
        "id_number_encrypted": crypto.encrypt(id_number),
        "id_number_hash": crypto.keyed_hash("id_number", id_number),
        "id_number_masked": mask_id_number(id_number),
        "identity_submitted_at": now,
        "identity_verified_at": now if verified else None,
    }


@transaction.atomic
def distributor_identity_submit(
    *,
    merchant: Merchant,
    actor: Actor,
    distributor_id: int,
    real_name: str,
    id_type: str,
    id_number: str,
    verified: bool,
) -> Distributor:
    """Record a distributor's identity. `verified` is for the merchant's server, which checked it itself."""
    real_name, id_type, id_number = clean_identity(real_name=real_name, id_type=id_type, id_number=id_number)
    if live_blacklist(merchant).filter(kind="id_number", value_hash=crypto.keyed_hash("id_number", id_number)).exists():
        raise ApplicantBlacklisted()
    distributor = lock_distributor(merchant, distributor_id)
    fields = identity_fields(real_name=real_name, id_type=id_type, id_number=id_number, verified=verified)
    for name, value in fields.items():
        setattr(distributor, name, value)
    distributor.save(update_fields=[*fields, "updated_at"])
    audit_record(
        merchant=merchant,
        actor=actor,
        action="distributor.identity_submitted",
        obj=distributor,
        changes={"id_number": [None, fields["id_number_masked"]], "verified": [None, verified]},
    )
    return distributor


@transaction.atomic
def distributor_identity_verify(*, merchant: Merchant, actor: Actor, distributor_id: int) -> Distributor:
    distributor = lock_distributor(merchant, distributor_id)
    if distributor.identity_submitted_at is None:
        raise IdentityMissing()
    if distributor.identity_verified_at is None:
        distributor.identity_verified_at = timezone.now()
        distributor.save(update_fields=["identity_verified_at", "updated_at"])
        audit_record(
            merchant=merchant,
            actor=actor,
            action="distributor.identity_verified",
            obj=distributor,
            changes={"verified": [False, True]},
        )
    return distributor
