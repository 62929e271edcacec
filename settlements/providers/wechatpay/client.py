"""The WeChat Pay API v3 client a merchant's settlement code uses: profit sharing and transfers, and the
callback notifications WeChat sends us, checked and decrypted with the same keys."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag

from settlements.providers.wechatpay.profitsharing import ProfitSharingApi
from settlements.providers.wechatpay.transfers import TransferApi


class NotificationError(ValueError):
    """A callback notification failed verification or decryption: treat it as forged and answer 4xx."""


class WechatPayClient(ProfitSharingApi, TransferApi):
    """Implements `ProfitSharingProvider` and `TransferProvider` (settlements.providers.base) over API v3, and
    reads the callbacks WeChat sends.

    Thread-safe as far as `requests.Session` is; one client per merchant configuration.
    """

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> None:
        """Check a callback's platform signature and timestamp; raise NotificationError if either fails.

        Header names are matched case-insensitively, so Django's `request.headers` or a plain dict work."""
        lowered = {k.lower(): v for k, v in headers.items()}
        problem = self._signature_problem(lowered, body)
        if problem is not None:
            raise NotificationError(f"notification signature refused: {problem}")

    def decrypt_notification(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """Decrypt a callback's `resource` (AEAD_AES_256_GCM under the APIv3 key) into its JSON object."""
        try:
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise NotificationError(f"unsupported algorithm {resource.get('algorithm')!r}")
            ciphertext = base64.b64decode(resource["ciphertext"], validate=True)
            nonce = resource["nonce"].encode()
            associated = (resource.get("associated_data") or "").encode()
            plaintext = self._aead.decrypt(nonce, ciphertext, associated or None)
            data = json.loads(plaintext)
        except NotificationError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, InvalidTag) as exc:
            raise NotificationError(f"notification resource cannot be decrypted: {exc.__class__.__name__}") from exc
        if not isinstance(data, dict):
            raise NotificationError("notification resource is not a JSON object")
        return data

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Verify, then decrypt: the envelope (id, event_type, ...) with `resource` replaced by its plaintext."""
        self.verify_notification(headers, body)
        try:
            envelope = json.loads(body)
        except ValueError as exc:
            raise NotificationError("notification body is not JSON") from exc
        if not isinstance(envelope, dict) or not isinstance(envelope.get("resource"), dict):
            raise NotificationError("notification has no resource")
        return {**envelope, "resource": self.decrypt_notification(envelope["resource"])}
