"""`Idempotency-Key` for POST endpoints, with Stripe's semantics.

* Same key, same request: the first response is answered again (`Idempotent-Replayed: true`).
* Same key, different request: refused (422 `idempotency_key_reused`).
* Concurrent duplicates: the claim is an INSERT on a unique index inside the request's transaction, so
  the second request waits for the first to commit and then replays it; the work runs once.
* Only successful (2xx) responses are kept: a refused request rolls back with its claim, and a retry
  with the same key is free to run again.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.db import connection
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from distribution.api.errors import IdempotentReplay
from distribution.api.fields import SecretField
from distribution.errors import Unprocessable, ValidationFailed
from distribution.models import IdempotencyRecord

HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def validate_key(key: str) -> str:
    if not _VALID_KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1-255 printable ASCII characters without spaces.",
            code="invalid_idempotency_key",
            fields={HEADER: ["Invalid key."]},
        )
    return key


def request_fingerprint(method: str, path: str, data: Any) -> str:
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def claim(*, merchant_id: int, scope: str, key: str, method: str, path: str, fingerprint: str) -> int:
    """Claim `key` for this request inside the current transaction, or raise IdempotentReplay / 422.

    Returns the id of the new record, to be completed with `complete()` when the response is known.
    """
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (merchant_id, scope, key, method, path, request_hash, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (merchant_id, scope, key) DO NOTHING
            RETURNING id
            """,  # noqa: S608  (table name from model meta, values bound)
            [merchant_id, scope, key, method, path[:500], fingerprint],
        )
        row = cursor.fetchone()
    if row:
        return row[0]
    existing = IdempotencyRecord.objects.for_merchant(merchant_id).get(scope=scope, key=key)
    if existing.request_hash != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request.",
            code="idempotency_key_reused",
        )
    body = json.loads(existing.response_body) if existing.response_body else None
    raise IdempotentReplay(existing.response_status, body)


def storable(data: Any) -> tuple[Any, bool]:
    """The copy of a response body that may be kept for replays, and whether it differs from `data`.

    Secrets (fields declared as SecretField in the response's serializer) are shown once and kept nowhere
    but as a hash: the stored copy has them null and `secret_withheld` true."""
    serializer = getattr(data, "serializer", None)
    fields = getattr(serializer, "fields", None) or {}
    secrets = [name for name, field in fields.items() if isinstance(field, SecretField) and name in data]
    if not secrets:
        return data, False
    return {**data, **dict.fromkeys(secrets), "secret_withheld": True}, True


def complete(record_id: int, status: int, data: Any, *, rendered: bytes | None = None) -> None:
    """Keep the response for replays; `rendered` is its JSON when the caller has rendered it already."""
    data, withheld = storable(data)
    if withheld:
        rendered = None  # the client's copy shows the secret; this one must not
    if data is None:
        body = None
    else:
        body = (rendered if rendered is not None else JSONRenderer().render(data)).decode()
    IdempotencyRecord.objects.unscoped().filter(pk=record_id).update(response_status=status, response_body=body)
