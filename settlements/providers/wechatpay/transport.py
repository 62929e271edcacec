"""WeChat Pay API v3 transport: signed requests, verified answers, and what each answer means.

The client (wechatpay.client, with the profit-sharing and transfer APIs) speaks the provider's real
protocol (docs/providers.md): every request is signed with the merchant key, every answer the settlement
code acts on is checked against the platform key, and every outcome that could hide a completed money
movement is reported as `ProviderUnknownOutcome` rather than guessed. The caller then queries with the
same number; it never retries with a new one.

How answers map to exceptions (the rule the settlement code relies on):

- 2xx with a valid platform signature (timestamp within `max_clock_skew_seconds`) -> parsed result.
- 2xx without a valid signature, an unparseable 2xx, a timeout, a dropped connection, any 5xx other than a
  signed `SYSTEM_ERROR`, a 3xx, or an error answer whose signature headers are present but wrong
  -> `ProviderUnknownOutcome` (the request may have been executed; query before deciding).
- 429 / `FREQUENCY_LIMITED`, signed 5xx `SYSTEM_ERROR` -> transient `ProviderError` (retry later with the
  same number). A split refused too soon after payment arrives as `INVALID_REQUEST` with a message whose
  wording varies; the transport reports the code as sent, and the split service's retry policy decides
  (settlements.services.splits), never the message text.
- Other 4xx (`PARAM_ERROR`, `INVALID_REQUEST`, `NOT_ENOUGH`, `SIGN_ERROR`, `NO_AUTH`, not found ...) -> final
  `ProviderError` for that request. Error answers carry no signature when WeChat could not authenticate
  us (401), so a 4xx without signature headers is accepted as the provider's word.

Amounts are integer fen end to end; the client refuses anything else before it touches the network.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from settlements.providers.base import ProviderError, ProviderUnknownOutcome

logger = logging.getLogger(__name__)
_Result = TypeVar("_Result")  # what a parser makes of an answer: SplitResult, ReturnResult, TransferResult

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"

# Codes that mean "not now, same number later", whatever the request.
TRANSIENT_CODES = frozenset({"FREQUENCY_LIMITED", "SYSTEM_ERROR"})


class MalformedResponse(ValueError):
    """A signed 2xx answer we cannot read; surfaced as ProviderUnknownOutcome by the public methods."""


@dataclass(frozen=True)
class WechatPayConfig:
    """One merchant's WeChat Pay v3 credentials. Secrets are kept out of repr so they never reach logs."""

    mchid: str
    appid: str
    merchant_serial_no: str
    private_key_pem: str = field(repr=False)  # the merchant's API private key (apiclient_key.pem)
    platform_serial_no: str  # WeChat Pay public key id (PUB_KEY_ID_...) or platform certificate serial
    platform_public_key_pem: str = field(repr=False)  # a PUBLIC KEY or a platform CERTIFICATE in PEM
    apiv3_key: str = field(repr=False)  # 32 bytes, decrypts callback notifications
    base_url: str = DEFAULT_BASE_URL
    timeout_seconds: float = 10.0
    max_clock_skew_seconds: int = 300
    # Merchant transfer extras WeChat needs for some scenes (e.g. 1005 佣金报酬 wants report infos such as
    # 岗位类型/报酬说明). They are per merchant configuration, not per call, so they live here.
    transfer_notify_url: str = ""
    transfer_user_recv_perception: str = ""
    transfer_scene_report_infos: tuple[tuple[str, str], ...] = ()
    # During a platform key rotation: (serial, PEM) of the other keys whose signatures are accepted; the
    # answer's Wechatpay-Serial header selects the key. Encryption always uses `platform_serial_no`'s key.
    other_platform_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@functools.lru_cache(maxsize=32)
def _load_platform_public_key(pem: str) -> rsa.RSAPublicKey:
    """Accept either WeChat's newer "微信支付公钥" (a bare public key) or a platform certificate."""
    data = pem.encode()
    key: PublicKeyTypes
    if b"BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the platform key must be an RSA key")
    return key


@functools.lru_cache(maxsize=32)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Cached: loading validates the RSA key (tens of milliseconds), and a client may be built per task."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the merchant key must be an RSA private key")
    return key


def require_fen(amount: object, *, name: str = "amount") -> int:
    """Money crosses this boundary as integer fen only: a float or Decimal here is a bug upstream."""
    if type(amount) is not int:
        raise TypeError(f"{name} must be an int number of fen, got {type(amount).__name__}")
    if amount <= 0:
        raise ValueError(f"{name} must be positive, got {amount}")
    return amount


def require_number(value: str, pattern: re.Pattern[str], name: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r} does not match {pattern.pattern}")
    return value


def get_str(data: Mapping[str, Any], key: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise MalformedResponse(f"field {key!r} missing or not a string")
    return value


def get_int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if type(value) is not int:
        raise MalformedResponse(f"field {key!r} missing or not an integer")
    return value


class WechatPayTransport:
    """Signed calls to API v3 for one merchant configuration and the checks on their answers, which the
    profit-sharing and transfer APIs build on (together: WechatPayClient).

    `session` and `clock` are injectable so tests can pin the clock and callers can share pools.
    """

    def __init__(
        self,
        config: WechatPayConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(config.apiv3_key.encode()) != 32:
            raise ValueError("apiv3_key must be exactly 32 bytes")
        self._config = config
        self._private_key = _load_private_key(config.private_key_pem)
        self._platform_key = _load_platform_public_key(config.platform_public_key_pem)
        self._verifying_keys = {
            serial: _load_platform_public_key(pem) for serial, pem in config.other_platform_keys
        } | {config.platform_serial_no: self._platform_key}
        self._aead = AESGCM(config.apiv3_key.encode())
        self._session = session if session is not None else requests.Session()
        self._clock = clock
        self._user_agent = f"distribution-backend wechatpay-apiv3 python-requests/{requests.__version__}"

    @property
    def config(self) -> WechatPayConfig:
        return self._config

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- crypto helpers ------------------------------------------------------------------------------------
    def encrypt_sensitive(self, plaintext: str) -> str:
        """RSA-OAEP (SHA-1, MGF1 SHA-1) with the platform public key, as WeChat specifies for names."""
        ciphertext = self._platform_key.encrypt(
            plaintext.encode(),
            padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
        )
        return base64.b64encode(ciphertext).decode("ascii")

    def _authorization(self, method: str, path_with_query: str, body: bytes) -> str:
        timestamp = str(int(self._clock()))
        nonce = secrets.token_hex(16).upper()
        message = f"{method}\n{path_with_query}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = base64.b64encode(self._private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
        return (
            f'{AUTH_SCHEME} mchid="{self._config.mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{self._config.merchant_serial_no}"'
        )

    def _signature_problem(self, lowered_headers: Mapping[str, str], body: bytes) -> str | None:
        """None when the platform signature over timestamp, nonce and body is valid and fresh; else why not."""
        signature = lowered_headers.get("wechatpay-signature")
        timestamp = lowered_headers.get("wechatpay-timestamp")
        nonce = lowered_headers.get("wechatpay-nonce")
        serial = lowered_headers.get("wechatpay-serial")
        if not (signature and timestamp and nonce and serial):
            return "signature headers missing"
        signature_type = lowered_headers.get("wechatpay-signature-type")
        if signature_type and signature_type != AUTH_SCHEME:
            return f"unsupported signature type {signature_type!r}"
        key = self._verifying_keys.get(serial)
        if key is None:
            return f"unknown platform serial {serial!r}"
        try:
            signed_at = int(timestamp)
        except ValueError:
            return "timestamp is not an integer"
        if abs(self._clock() - signed_at) > self._config.max_clock_skew_seconds:
            return "timestamp outside the allowed clock skew"
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        try:
            key.verify(base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "signature does not verify"
        return None

    # --- transport -----------------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Mapping[str, Any] | None = None,
        sensitive: bool = False,
    ) -> dict[str, Any]:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if sensitive:
            # Tells WeChat which platform key encrypted the sensitive fields.
            headers["Wechatpay-Serial"] = self._config.platform_serial_no
        url = self._config.base_url.rstrip("/") + path
        prepared = self._session.prepare_request(
            requests.Request(method, url, params=params, data=body if payload is not None else None, headers=headers)
        )
        # Sign exactly the path and query that go on the wire, after requests has encoded them.
        prepared.headers["Authorization"] = self._authorization(method, prepared.path_url, body)
        try:
            response = self._session.send(prepared, timeout=self._config.timeout_seconds, allow_redirects=False)
        except requests.RequestException as exc:
            logger.warning("wechatpay %s %s: no answer (%s)", method, path, exc.__class__.__name__)
            raise ProviderUnknownOutcome(f"{method} {path}: no answer ({exc.__class__.__name__}: {exc})") from exc
        return self._handle(response, method, path)

    def _handle(self, response: requests.Response, method: str, path: str) -> dict[str, Any]:
        status = response.status_code
        body = response.content
        request_id = response.headers.get("Request-ID", "")
        lowered = {k.lower(): v for k, v in response.headers.items()}
        problem = self._signature_problem(lowered, body)
        where = f"{method} {path} -> HTTP {status} (Request-ID {request_id or '-'})"

        if 200 <= status < 300:
            if problem is not None:
                logger.error("wechatpay %s: 2xx refused as forged: %s", where, problem)
                raise ProviderUnknownOutcome(f"{where}: unverifiable 2xx answer ({problem})")
            if not body:
                return {}
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise ProviderUnknownOutcome(f"{where}: signed 2xx answer is not JSON") from exc
            if not isinstance(data, dict):
                raise ProviderUnknownOutcome(f"{where}: signed 2xx answer is not a JSON object")
            return data

        signed = problem is None
        headers_present = any(h in lowered for h in ("wechatpay-signature", "wechatpay-timestamp", "wechatpay-serial"))
        if headers_present and not signed:
            # Someone answered in WeChat's name with a bad signature: do not believe the refusal either.
            logger.error("wechatpay %s: error answer with a bad signature: %s", where, problem)
            raise ProviderUnknownOutcome(f"{where}: error answer with an invalid signature ({problem})")
        code, message = self._error_fields(body)
        logger.warning("wechatpay %s: %s %s", where, code, message)

        if status == 429 or code == "FREQUENCY_LIMITED":
            raise ProviderError(code or "FREQUENCY_LIMITED", message, transient=True, http_status=status)
        if status >= 500:
            if signed and code == "SYSTEM_ERROR":
                raise ProviderError(code, message, transient=True, http_status=status)
            raise ProviderUnknownOutcome(f"{where}: {code or 'no code'} {message}".rstrip())
        if 400 <= status < 500:
            code = code or f"HTTP_{status}"
            raise ProviderError(code, message, transient=code in TRANSIENT_CODES, http_status=status)
        # 1xx/3xx: nothing WeChat documents; we cannot tell whether the request was taken.
        raise ProviderUnknownOutcome(f"{where}: unexpected status")

    @staticmethod
    def _error_fields(body: bytes) -> tuple[str, str]:
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return "", body[:200].decode("utf-8", "replace")
        if not isinstance(data, dict):
            return "", ""
        code = data.get("code")
        message = data.get("message")
        return (code if isinstance(code, str) else "", message if isinstance(message, str) else "")

    # --- parsing -------------------------------------------------------------------------------------------
    @staticmethod
    def _parse(
        parser: Callable[[Mapping[str, Any]], _Result],
        data: Mapping[str, Any],
        number: str,
        *,
        transaction_id: str | None = None,
    ) -> _Result:
        """Parse a signed answer and check it is about our number (and payment): a signed answer we cannot
        read, or one about something else, leaves the outcome unknown rather than wrong."""
        if transaction_id is not None and data.get("transaction_id", transaction_id) != transaction_id:
            raise ProviderUnknownOutcome(f"signed answer for {number} is about another payment")
        try:
            result = parser(data)
        except MalformedResponse as exc:
            raise ProviderUnknownOutcome(f"signed answer for {number} is malformed: {exc}") from exc
        echoed = getattr(result, "out_order_no", None) or getattr(result, "out_return_no", None)
        echoed = echoed or getattr(result, "out_bill_no", None)
        if echoed != number:
            raise ProviderUnknownOutcome(f"signed answer is about {echoed!r}, not {number!r}")
        return result
