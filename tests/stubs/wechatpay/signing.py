"""WeChat Pay v3's cryptography, seen from the provider's side: check a request's Authorization with the
merchant's public key, sign an answer (or spoil its signature) with the platform key, decrypt a name the
client encrypted for the platform, and encrypt a notification's resource with the APIv3 key."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from settlements.providers.wechatpay.transport import AUTH_SCHEME
from tests.stubs.wechatpay.keys import StubKeys, load_private

MAX_SKEW_SECONDS = 300
STALE_SECONDS = 600  # how old a "stale" signature's timestamp is


class Signer:
    """The stub's keys, loaded once. Every method that looks at time takes the stub's `now`."""

    def __init__(self, keys: StubKeys) -> None:
        self.keys = keys
        self._merchant_key = serialization.load_pem_public_key(keys.merchant_public_key_pem.encode())
        self._platform_key = load_private(keys.platform_private_key_pem)
        self._aead = AESGCM(keys.apiv3_key.encode())

    def authorization_problem(
        self, method: str, target: str, body: bytes, headers: Mapping[str, str], now: float
    ) -> str | None:
        """Why the request's Authorization header is refused, or None if it verifies."""
        scheme, _, rest = (headers.get("Authorization") or "").partition(" ")
        if scheme != AUTH_SCHEME:
            return "Authorization missing or not WECHATPAY2-SHA256-RSA2048"
        fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        for name in ("mchid", "nonce_str", "timestamp", "serial_no", "signature"):
            if not fields.get(name):
                return f"Authorization lacks {name}"
        if fields["mchid"] != self.keys.mchid:
            return "mchid does not match"
        if fields["serial_no"] != self.keys.merchant_serial_no:
            return "商户证书序列号有误"
        try:
            timestamp = int(fields["timestamp"])
        except ValueError:
            return "timestamp is not an integer"
        if abs(now - timestamp) > MAX_SKEW_SECONDS:
            return "timestamp out of range (请求时间与微信支付服务器时间相差超过5分钟)"
        message = f"{method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        try:
            self._merchant_key.verify(
                base64.b64decode(fields["signature"], validate=True), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return "签名错误 (signature does not verify with the merchant public key)"
        return None

    def signature_headers(self, body: bytes, signature: str, now: float) -> dict[str, str]:
        """The Wechatpay-* headers for `body`: "valid", "stale" (an old timestamp), "bad" (a signature that
        does not verify) or "missing" (none). "tampered" signs validly: the caller changes the body after."""
        if signature == "missing":
            return {}
        timestamp = str(int(now) - (STALE_SECONDS if signature == "stale" else 0))
        nonce = secrets.token_hex(16)
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signed = self._platform_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        if signature == "bad":
            signed = bytes([signed[0] ^ 0xFF]) + signed[1:]
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signed).decode(),
            "Wechatpay-Serial": self.keys.platform_serial_no,
            "Wechatpay-Signature-Type": AUTH_SCHEME,
        }

    def decrypt_name(self, ciphertext: Any, headers: Mapping[str, str]) -> str | None:
        """The plaintext of an encrypted name, or None if it does not decrypt with the platform key."""
        if headers.get("Wechatpay-Serial") != self.keys.platform_serial_no or not isinstance(ciphertext, str):
            return None
        try:
            plaintext = self._platform_key.decrypt(
                base64.b64decode(ciphertext, validate=True),
                padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
            )
        except ValueError:
            return None
        return plaintext.decode()

    def encrypt_resource(self, nonce: str, plaintext: bytes, associated_data: str) -> bytes:
        """AEAD_AES_256_GCM with the APIv3 key, as notifications carry their resource."""
        return self._aead.encrypt(nonce.encode(), plaintext, associated_data.encode())
