"""Signed order webhooks from the merchant's shop.

The shop signs each delivery: header `X-Distribution-Signature: t=<unix seconds>,v1=<hex>` where v1 is
HMAC-SHA256 over `"<t>.<raw body>"` with the endpoint's secret (several v1 values may be sent). We refuse
a timestamp more than 5 minutes from our clock, compare in constant time, and accept the previous
secret until the end of its rotation window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from distribution import crypto
from distribution.audit import audit_record
from distribution.auth import Actor
from orders.errors import InvalidSignature, NoWebhookEndpoint, SignatureExpired, WebhookEndpointExists
from orders.models import WebhookEndpoint

if TYPE_CHECKING:
    from merchants.models import Merchant

HEADER = "X-Distribution-Signature"
TOLERANCE_SECONDS = 300
ROTATION_GRACE = timedelta(hours=24)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def _parse(header: str) -> tuple[int, list[str]]:
    """`t=<unix seconds>,v1=<64 hex>[,v1=...]`; anything else (other digits, bytes, lengths) is malformed."""
    timestamp, signatures = None, []
    for part in header[:2000].split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and _TIMESTAMP.fullmatch(value):
            timestamp = int(value)
        elif key == "v1" and _HEX_SIGNATURE.fullmatch(value):
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise InvalidSignature("Malformed signature header.")
    return timestamp, signatures


def verify(endpoint: WebhookEndpoint, header: str | None, body: bytes, *, now: float | None = None) -> None:
    if not header:
        raise InvalidSignature("Missing signature header.")
    timestamp, signatures = _parse(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureExpired()
    valid_secrets = [crypto.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_valid_until
        and endpoint.previous_valid_until > timezone.now()
    ):
        valid_secrets.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    expected = [sign(secret, timestamp, body) for secret in valid_secrets]
    # compare every pair, so the time taken does not depend on which one matched
    matches = [hmac.compare_digest(e, s) for e in expected for s in signatures]
    if not any(matches):
        raise InvalidSignature()


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def endpoint_of(merchant: Merchant) -> WebhookEndpoint:
    """The merchant's endpoint (404 `no_webhook_endpoint` until it is created)."""
    endpoint = WebhookEndpoint.objects.for_merchant(merchant).first()
    if endpoint is None:
        raise NoWebhookEndpoint()
    return endpoint


@transaction.atomic
def webhook_endpoint_create(*, merchant: Merchant, actor: Actor) -> tuple[WebhookEndpoint, str]:
    """The merchant's endpoint and its first secret, returned once (a second create is a 409: rotate instead)."""
    secret = _new_secret()
    try:
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.create(
                merchant=merchant,
                public_id="whk_" + secrets.token_urlsafe(18),
                secret_encrypted=crypto.encrypt(secret),
            )
    except IntegrityError:
        raise WebhookEndpointExists() from None
    audit_record(merchant=merchant, actor=actor, action="webhook_endpoint.created", obj=endpoint, changes={})
    return endpoint, secret


@transaction.atomic
def webhook_secret_rotate(*, merchant: Merchant, actor: Actor) -> tuple[WebhookEndpoint, str]:
    """A new secret, returned once; the old one keeps working for 24 hours so the shop can switch."""
    endpoint = WebhookEndpoint.objects.for_merchant(merchant).select_for_update().first()
    if endpoint is None:
        raise NoWebhookEndpoint()
    secret = _new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_valid_until = timezone.now() + ROTATION_GRACE
    endpoint.secret_encrypted = crypto.encrypt(secret)
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["previous_secret_encrypted", "previous_valid_until", "secret_encrypted", "rotated_at"])
    audit_record(
        merchant=merchant,
        actor=actor,
        action="webhook_secret.rotated",
        obj=endpoint,
        changes={"previous_valid_until": [None, endpoint.previous_valid_until.isoformat()]},
    )
    return endpoint, secret
