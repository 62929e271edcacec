"""Alipay open-platform gateway transport: signed form posts, verified answers, and what each answer means.

Every call is one form POST to the gateway (`https://openapi.alipay.com/gateway.do`) with the common
parameters (app_id, method, format, charset, sign_type=RSA2, timestamp in China time, version 1.0), the
business parameters as the JSON text `biz_content`, and `sign` over all of them (alipay.signing). The answer
is JSON: `{"<method>_response": {...}, "sign": "..."}`, the signature over the exact text of the response
value, under the Alipay public key.

How answers map to exceptions (the rule the payout code relies on):

- HTTP 200, a valid signature, `code` 10000 -> the response object.
- A timeout or dropped connection, any other HTTP status, a body that is not the documented JSON, a
  missing or invalid signature, `code` 20000 (service unavailable: the request may have been executed)
  -> `ProviderUnknownOutcome`: query with the same number before deciding anything.
- Any other signed `code` (40004 business failure, 4000x gateway refusals) -> `ProviderError` whose code
  is the answer's `sub_code` (or `GATEWAY_<code>` without one). Which of these are final is the API's
  business (alipay.transfers): Alipay says to decide on `sub_code` only, never on `sub_msg`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Self

import requests

from settlements.providers.alipay.signing import (
    load_private_key,
    load_public_key,
    response_key,
    rsa2_sign,
    rsa2_verify,
    signed_text,
    signing_string,
)
from settlements.providers.base import ProviderError, ProviderUnknownOutcome

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
CHINA_TIME = timezone(timedelta(hours=8))  # the gateway reads `timestamp` as Beijing time
SUCCESS_CODE = "10000"
UNKNOWN_CODE = "20000"  # 服务不可用: the outcome of the call is not known


@dataclass(frozen=True)
class AlipayConfig:
    """One merchant's Alipay app. Secrets are kept out of repr so they never reach logs."""

    app_id: str
    app_private_key_pem: str = field(repr=False)  # PKCS#8 PEM or bare Base64, as Alipay's key tool gives it
    alipay_public_key_pem: str = field(repr=False)  # "支付宝公钥" (public-key mode, not certificate mode)
    gateway_url: str = DEFAULT_GATEWAY_URL
    timeout_seconds: float = 10.0


class AlipayTransport:
    """Signed calls to the gateway for one app, and the checks on their answers.

    `session` and `clock` are injectable so tests can pin the clock and callers can share pools."""

    def __init__(
        self,
        config: AlipayConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._private_key = load_private_key(config.app_private_key_pem)
        self._alipay_key = load_public_key(config.alipay_public_key_pem)
        self._session = session if session is not None else requests.Session()
        self._clock = clock

    @property
    def config(self) -> AlipayConfig:
        return self._config

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def signed_params(self, method: str, biz_content: Mapping[str, Any]) -> dict[str, str]:
        """The form a call posts: the common parameters, `biz_content` and `sign`."""
        params = {
            "app_id": self._config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": datetime.fromtimestamp(self._clock(), UTC)
            .astimezone(CHINA_TIME)
            .strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = rsa2_sign(self._private_key, signing_string(params))
        return params

    def call(self, method: str, biz_content: Mapping[str, Any]) -> dict[str, Any]:
        """One gateway call; the verified response object on code 10000 (see the module's rules)."""
        params = self.signed_params(method, biz_content)
        try:
            response = self._session.post(
                self._config.gateway_url,
                data=params,
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                timeout=self._config.timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            logger.warning("alipay %s: no answer (%s)", method, exc.__class__.__name__)
            raise ProviderUnknownOutcome(f"{method}: no answer ({exc.__class__.__name__}: {exc})") from exc
        if response.status_code != 200:
            raise ProviderUnknownOutcome(f"{method}: HTTP {response.status_code}")
        return self._read(method, response.content.decode("utf-8", "replace"))

    def _read(self, method: str, body: str) -> dict[str, Any]:
        key = response_key(method)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ProviderUnknownOutcome(f"{method}: the answer is not JSON") from exc
        answer = data.get(key) if isinstance(data, dict) else None
        if not isinstance(answer, dict):
            raise ProviderUnknownOutcome(f"{method}: the answer has no {key}")
        text = signed_text(body, key)
        signature = data.get("sign")
        if text is None or not isinstance(signature, str) or not rsa2_verify(self._alipay_key, text, signature):
            # Someone answered in Alipay's name, or the answer was changed: believe neither success nor refusal.
            logger.error("alipay %s: answer refused, its signature does not verify", method)
            raise ProviderUnknownOutcome(f"{method}: unsigned or wrongly signed answer")
        code = answer.get("code")
        if code == SUCCESS_CODE:
            return answer
        sub_code, message = answer.get("sub_code"), answer.get("sub_msg") or answer.get("msg") or ""
        logger.warning("alipay %s: %s %s %s", method, code, sub_code, message)
        if code == UNKNOWN_CODE or not isinstance(code, str):
            raise ProviderUnknownOutcome(f"{method}: {code} {sub_code or ''} {message}".rstrip())
        raise ProviderError(sub_code if isinstance(sub_code, str) and sub_code else f"GATEWAY_{code}", str(message))
