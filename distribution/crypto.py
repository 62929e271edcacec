"""Personal data at rest: encrypted (Fernet, keys rotatable) when it must be read back, and a keyed
hash (HMAC-SHA256) when it only needs matching (blacklist, duplicate checks).

Keys come from PII_ENCRYPTION_KEYS (comma-separated Fernet keys, the first encrypts, all decrypt) and
PII_HASH_KEY. With DJANGO_DEBUG they default to keys derived from the secret key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from distribution.identifiers import canonical


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _keys() -> tuple[str, ...]:
    return tuple(settings.PII_ENCRYPTION_KEYS)


def encrypt(value: str) -> str:
    return _fernet(_keys()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong key or damaged value") from exc


def keyed_hash(kind: str, value: str) -> str:
    """HMAC-SHA256 of the canonical form (distribution.identifiers), so spellings of one number match."""
    key = settings.PII_HASH_KEY.encode()
    message = f"{kind}:{canonical(kind, value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def derive_key(secret: str, purpose: str) -> str:
    """A Fernet-shaped key derived from another secret (development defaults only)."""
    digest = hmac.new(secret.encode(), f"pii:{purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()
