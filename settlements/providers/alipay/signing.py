"""Alipay open-platform RSA2 signatures (docs/providers.md, "Alipay"): what is signed, and how.

A request is signed over its parameters sorted by name, as `k=v` joined with `&`, leaving out `sign` and
empty values; the signature is SHA256withRSA (PKCS#1 v1.5) under the app's private key, Base64. An answer
is signed by Alipay over the exact text of its `<method>_response` JSON value, as it appears in the body, so
the verifier must cut that text out of the raw body rather than re-serialise the parsed JSON.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def signing_string(params: Mapping[str, str]) -> str:
    """The text a request signature covers: sorted `k=v` pairs without `sign` and without empty values."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "sign" and params[key] != "")


def _pem(text: str, kind: str) -> bytes:
    """Alipay hands keys out as bare Base64 as often as PEM: accept both."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        return stripped.encode()
    body = "\n".join(stripped[i : i + 64] for i in range(0, len(stripped), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n".encode()


@functools.lru_cache(maxsize=32)
def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """The app private key (PKCS#8 PEM, or its bare Base64); cached, as loading validates the key."""
    key = serialization.load_pem_private_key(_pem(text, "PRIVATE KEY"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the app private key must be an RSA private key")
    return key


@functools.lru_cache(maxsize=32)
def load_public_key(text: str) -> rsa.RSAPublicKey:
    """A public key (SubjectPublicKeyInfo PEM, or its bare Base64), e.g. the Alipay public key."""
    key = serialization.load_pem_public_key(_pem(text, "PUBLIC KEY"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the public key must be an RSA key")
    return key


def rsa2_sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    return base64.b64encode(private_key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True), content.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def response_key(method: str) -> str:
    """`alipay.fund.trans.uni.transfer` answers under `alipay_fund_trans_uni_transfer_response`."""
    return method.replace(".", "_") + "_response"


def signed_text(body: str, key: str) -> str | None:
    """The exact text of the JSON value under `key` at the top of `body` (what Alipay signed), or None.

    The value is located with a JSON decoder at the position after `"key":`, so the text is exactly the
    characters Alipay sent, whatever their spacing or escaping."""
    start = body.find(json.dumps(key))
    if start < 0:
        return None
    position = _skip_space(body, start + len(json.dumps(key)))
    if body[position : position + 1] != ":":
        return None
    position = _skip_space(body, position + 1)
    try:
        _, end = json.JSONDecoder().raw_decode(body, position)
    except ValueError:
        return None
    return body[position:end]


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
