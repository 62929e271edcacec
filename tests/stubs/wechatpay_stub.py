"""A local WeChat Pay API v3 server for tests: same endpoints, same signing, programmable failures.

It is what the product's tests talk to instead of WeChat (docs/providers.md). It checks every
request's Authorization signature with the merchant's public key, signs every answer with the platform
key, decrypts encrypted name fields, and keeps state so that a number sent again is the same request.
Tests then count how many transfers and splits really happened per number and compare with the ledger.

Typical use::

    config, keys = make_key_sets()
    with WechatPayStub(keys) as stub, stub.make_client(config) as client:
        stub.fail_next("transfer", "timeout")          # execute, then drop the connection
        ...
        assert stub.executed_transfers() == {"W1": 1}

Endpoints (names used by `fail_next` / `script`):
    receivers_add   POST /v3/profitsharing/receivers/add
    split           POST /v3/profitsharing/orders
    split_query     GET  /v3/profitsharing/orders/{out_order_no}?transaction_id=...
    unfreeze        POST /v3/profitsharing/orders/unfreeze
    return          POST /v3/profitsharing/return-orders
    transfer        POST /v3/fund-app/mch-transfer/transfer-bills
    transfer_query  GET  /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}

Failure modes (see `MODES`): before execution (nothing happens at the provider) "system_error",
"rate_limit", "timeout_before", "param_error", "not_enough", "order_not_ready", "error"; after execution
(it happened, the answer is lost or unusable) "timeout", "hang", "system_error_after", "bad_gateway",
"unsigned", "forged", "stale_timestamp"; shaping the outcome "processing", "receiver_closed",
"transfer_fail", "wait_user_confirm"; and "ok" (a no-op slot for `script`).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from settlements.providers.wechatpay.client import WechatPayClient
from settlements.providers.wechatpay.transport import AUTH_SCHEME, WechatPayConfig

CST = timezone(timedelta(hours=8))  # WeChat reports times and counts daily limits in China time

DEFAULT_MCHID = "1900000109"
DEFAULT_APPID = "wxd678efh567hg6787"
DEFAULT_MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
DEFAULT_PLATFORM_SERIAL = "PUB_KEY_ID_0119000001092025010100000000000001"

ENDPOINTS = ("receivers_add", "split", "split_query", "unfreeze", "return", "transfer", "transfer_query")
_ALL = frozenset(ENDPOINTS)
MODES: dict[str, frozenset[str]] = {
    "ok": _ALL,
    # refused before anything happens
    "system_error": _ALL,  # 500 SYSTEM_ERROR, signed
    "rate_limit": _ALL,  # 429 FREQUENCY_LIMITED
    "timeout_before": _ALL,  # connection dropped, nothing executed
    "param_error": _ALL,  # 400 PARAM_ERROR (final)
    "error": _ALL,  # any answer: params status=, code=, message=
    "not_enough": frozenset({"split", "unfreeze", "return", "transfer"}),  # 403 NOT_ENOUGH
    "order_not_ready": frozenset({"split", "unfreeze"}),  # 400 INVALID_REQUEST 订单处理中 (transient)
    # executed, then the answer is lost or unusable
    "timeout": _ALL,  # executed, connection dropped without an answer
    "hang": _ALL,  # executed, answer withheld for `delay` seconds, then dropped (client read timeout)
    "system_error_after": _ALL,  # executed, then 500 SYSTEM_ERROR
    "bad_gateway": _ALL,  # executed, then an unsigned 502 HTML page
    "unsigned": _ALL,  # executed, 2xx without signature headers
    "forged": _ALL,  # executed, 2xx whose body no longer matches its signature
    "stale_timestamp": _ALL,  # executed, 2xx signed with a timestamp 10 minutes old
    # shaping the outcome of a new request
    "processing": frozenset({"split", "unfreeze", "transfer"}),  # PROCESSING for `polls` queries
    "receiver_closed": frozenset({"split"}),  # `receiver` (or every receiver) ends CLOSED
    "transfer_fail": frozenset({"transfer"}),  # bill ends FAIL with `fail_reason`
    "wait_user_confirm": frozenset({"transfer"}),  # bill waits for the user (see confirm_transfer)
}
_RULE_PARAMS = frozenset({"polls", "receiver", "fail_reason", "delay", "status", "code", "message", "signature"})
_SIGNATURES = frozenset({"valid", "missing", "bad", "stale", "tampered"})

RECEIVER_TYPES = frozenset({"MERCHANT_ID", "PERSONAL_OPENID"})
RELATION_TYPES = frozenset(
    {"STORE", "STAFF", "STORE_OWNER", "PARTNER", "HEADQUARTER", "BRAND", "DISTRIBUTOR", "USER", "SUPPLIER", "CUSTOM"}
)
OUT_ORDER_NO_RE = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
OUT_BILL_NO_RE = re.compile(r"^[0-9A-Za-z]{1,32}$")

DETAILS_DIFFER = "number exists but details differ (单号已存在，但请求参数与原请求不一致)"
ORDER_PROCESSING_MESSAGE = "订单处理中，暂时无法分账，请稍后重试"


# --- keys ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StubKeys:
    """What the stub needs: the merchant's public key (to check requests), the platform private key (to
    sign answers and decrypt names) and the APIv3 key (to encrypt notifications)."""

    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_public_key_pem: str = field(repr=False)
    platform_serial_no: str
    platform_private_key_pem: str = field(repr=False)
    apiv3_key: str = field(repr=False)


@functools.cache
def rsa_private_key_pem(slot: str) -> str:
    """A 2048-bit RSA key per slot name, generated once per process: key generation is the slow part."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@functools.cache
def _load_private(pem: str) -> rsa.RSAPrivateKey:
    # Our own freshly generated keys: skipping the (slow) consistency check is safe here.
    key = serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@functools.cache
def public_key_pem(private_pem: str) -> str:
    key = _load_private(private_pem)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def unrelated_private_key_pem() -> str:
    """A private key the stub does not know: a client signing with it must get 401 SIGN_ERROR."""
    return rsa_private_key_pem("unrelated")


def make_key_sets(*, mchid: str = DEFAULT_MCHID, appid: str = DEFAULT_APPID) -> tuple[WechatPayConfig, StubKeys]:
    """A matching pair: the client's config (base_url not yet pointing anywhere; use `stub.client_config`
    or `stub.make_client`) and the stub's keys. Merchant and platform keys differ, as in production."""
    merchant_private = rsa_private_key_pem("merchant")
    platform_private = rsa_private_key_pem("platform")
    apiv3_key = secrets.token_hex(16)  # 32 ASCII characters = 32 bytes
    config = WechatPayConfig(
        mchid=mchid,
        appid=appid,
        merchant_serial_no=DEFAULT_MERCHANT_SERIAL,
        private_key_pem=merchant_private,
        platform_serial_no=DEFAULT_PLATFORM_SERIAL,
        platform_public_key_pem=public_key_pem(platform_private),
        apiv3_key=apiv3_key,
        base_url="http://127.0.0.1:9",  # replaced by the stub's address
    )
    keys = StubKeys(
        mchid=mchid,
        appid=appid,
        merchant_serial_no=DEFAULT_MERCHANT_SERIAL,
        merchant_public_key_pem=public_key_pem(merchant_private),
        platform_serial_no=DEFAULT_PLATFORM_SERIAL,
        platform_private_key_pem=platform_private,
        apiv3_key=apiv3_key,
    )
    return config, keys


# --- state -----------------------------------------------------------------------------------------------
@dataclass
class _Rule:
    endpoint: str
    mode: str
    remaining: int
    number: str | None
    params: dict[str, Any]


@dataclass
class _Transaction:
    total: int  # what may be split (the stub does not model the 30% ratio: set the cap directly)
    reserved: int = 0  # held by splits that are SUCCESS or still PENDING
    unfrozen: int = 0  # released to the merchant
    finished: bool = False  # unfrozen: no more splits
    split_count: int = 0

    @property
    def remaining(self) -> int:
        return self.total - self.reserved - self.unfrozen


@dataclass
class _Order:
    kind: str  # "split" | "unfreeze"
    out_order_no: str
    order_id: str
    transaction_id: str
    fingerprint: tuple[Any, ...]
    receivers: list[dict[str, Any]]  # each with its planned final "result" and "fail_reason"
    unfreeze_after: bool
    create_time: str
    pending_polls: int = 0
    finished: bool = False
    finish_time: str = ""


@dataclass
class _Return:
    out_return_no: str
    return_id: str
    order: _Order
    return_mchid: str
    amount: int
    description: str
    fingerprint: tuple[Any, ...]
    create_time: str


@dataclass
class _Bill:
    out_bill_no: str
    transfer_bill_no: str
    openid: str
    amount: int
    scene_id: str
    remark: str
    user_name: str | None
    fingerprint: tuple[Any, ...]
    state: str
    final_state: str
    fail_reason: str
    package_info: str
    day: str
    create_time: str
    update_time: str
    pending_polls: int = 0


class _Reply:
    """What the handler should do with a request: answer (status, payload) or drop the connection."""

    def __init__(self, status: int, payload: Any, *, signature: str = "valid") -> None:
        self.status = status
        self.payload = payload
        self.signature = signature


def _error(status: int, code: str, message: str, *, signature: str = "valid") -> _Reply:
    return _Reply(status, {"code": code, "message": message}, signature=signature)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: WechatPayStub


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: a dropped answer never poisons a pool

    def do_GET(self) -> None:
        self.server.stub._serve(self, "GET")

    def do_POST(self) -> None:
        self.server.stub._serve(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the stub keeps its own request log."""


class WechatPayStub:
    """The local WeChat Pay v3 server. Use as a context manager (or start()/stop()).

    Limits are attributes so a test can change them: `daily_limit_per_openid` (2,000,000 fen),
    `min_transfer_amount` (10 fen), `user_name_threshold` (200,000 fen: WeChat wants the real name from
    ¥2,000 up), `max_receivers` (50), `max_splits_per_transaction` (50), `default_transaction_amount`
    (splittable fen for a transaction not declared with set_transaction), `daily_limit_behaviour`
    ("refuse": 403 DAY_RECEIVED_QUOTA_EXCEED at creation; "fail": the bill ends FAIL with that fail_reason),
    `require_added_receivers` (a receiver never added ends CLOSED / NO_RELATION), `clock_offset` (seconds
    added to the stub's clock, for skew tests).
    """

    def __init__(self, keys: StubKeys, *, clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self._clock = clock
        self._merchant_key = serialization.load_pem_public_key(keys.merchant_public_key_pem.encode())
        self._platform_key = _load_private(keys.platform_private_key_pem)
        self._aead = AESGCM(keys.apiv3_key.encode())
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.daily_limit_per_openid = 2_000_000
        self.min_transfer_amount = 10
        self.user_name_threshold = 200_000
        self.max_receivers = 50
        self.max_splits_per_transaction = 50
        self.default_transaction_amount = 100_000_000
        self.daily_limit_behaviour = "refuse"
        self.require_added_receivers = True
        self.clock_offset = 0.0
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> WechatPayStub:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.stub = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="wechatpay-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> WechatPayStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client_config(self, config: WechatPayConfig, **overrides: Any) -> WechatPayConfig:
        """`config` pointed at this stub (plus any field overrides, e.g. timeout_seconds=0.2)."""
        return dataclasses.replace(config, base_url=self.base_url, **overrides)

    def make_client(
        self, config: WechatPayConfig, *, clock: Callable[[], float] = time.time, **overrides: Any
    ) -> WechatPayClient:
        """A client for this stub. Its session ignores proxy environment variables: the stub is local."""
        session = requests.Session()
        session.trust_env = False
        return WechatPayClient(self.client_config(config, **overrides), session=session, clock=clock)

    def reset(self) -> None:
        """Forget all state, rules and counters (a module-scoped stub can be reused between tests)."""
        with self._lock:
            self._rules: list[_Rule] = []
            self._log: list[dict[str, Any]] = []
            self._receivers: dict[tuple[str, str], dict[str, Any]] = {}
            self._transactions: dict[str, _Transaction] = {}
            self._orders: dict[str, _Order] = {}
            self._returns: dict[str, _Return] = {}
            self._returned: Counter[tuple[str, str]] = Counter()
            self._received: Counter[str] = Counter()
            self._bills: dict[str, _Bill] = {}
            self._executed: dict[str, Counter[str]] = defaultdict(Counter)
            self._ids = itertools.count(1)

    # --- failure injection -----------------------------------------------------------------------------------
    def fail_next(self, endpoint: str, mode: str, count: int = 1, *, number: str | None = None, **params: Any) -> None:
        """Apply `mode` to the next `count` requests to `endpoint` (only those for `number`, if given).

        Params: polls (processing: queries that still answer PROCESSING, default 2), receiver (receiver_closed:
        the account to close, default all), fail_reason, delay (hang, default 0.5 s), status/code/message
        (error), signature ("valid" | "missing" | "bad" | "stale" | "tampered") to override how the answer
        is signed. Rules are consumed in the order they were added."""
        if endpoint not in MODES.get(mode, frozenset()):
            raise ValueError(f"mode {mode!r} does not apply to endpoint {endpoint!r}")
        unknown = set(params) - _RULE_PARAMS
        if unknown:
            raise TypeError(f"unknown rule params {sorted(unknown)}")
        if params.get("signature", "valid") not in _SIGNATURES:
            raise ValueError(f"signature must be one of {sorted(_SIGNATURES)}")
        with self._lock:
            self._rules.append(_Rule(endpoint, mode, count, number, dict(params)))

    def script(
        self, endpoint: str, modes: list[str | tuple[str, dict[str, Any]]], *, number: str | None = None
    ) -> None:
        """One mode per upcoming request, in order; "ok" lets a request through untouched."""
        for item in modes:
            mode, params = (item, {}) if isinstance(item, str) else item
            self.fail_next(endpoint, mode, 1, number=number, **params)

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def _take_rule(self, endpoint: str, number: str | None) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.endpoint == endpoint and rule.remaining > 0 and rule.number in (None, number):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    # --- scenario setup and inspection ------------------------------------------------------------------------
    def set_transaction(self, transaction_id: str, amount: int) -> None:
        """Declare how much of a payment may be split (fen)."""
        with self._lock:
            self._transactions[transaction_id] = _Transaction(total=amount)

    def register_receiver(
        self, type: str, account: str, relation_type: str = "DISTRIBUTOR", name: str | None = None
    ) -> None:
        """Add a receiver as if receivers/add had been called (setup shortcut for split tests)."""
        with self._lock:
            self._receivers[(type, account)] = {"relation_type": relation_type, "name": name}

    def receivers(self) -> dict[tuple[str, str], dict[str, Any]]:
        with self._lock:
            return {key: dict(value) for key, value in self._receivers.items()}

    def unsplit_amount(self, transaction_id: str) -> int:
        with self._lock:
            return self._transaction(transaction_id).remaining

    def executed_splits(self) -> dict[str, int]:
        """out_order_no -> how many times a split was really executed (never more than 1 if all is well)."""
        return self._executed_copy("split")

    def executed_unfreezes(self) -> dict[str, int]:
        return self._executed_copy("unfreeze")

    def executed_returns(self) -> dict[str, int]:
        return self._executed_copy("return")

    def executed_transfers(self) -> dict[str, int]:
        """out_bill_no -> how many transfer bills were really created for it."""
        return self._executed_copy("transfer")

    def _executed_copy(self, kind: str) -> dict[str, int]:
        with self._lock:
            return dict(self._executed[kind])

    def paid_by_openid(self) -> dict[str, int]:
        """Fen that reached each user's balance: transfer bills in state SUCCESS."""
        with self._lock:
            paid: Counter[str] = Counter()
            for bill in self._bills.values():
                if bill.state == "SUCCESS":
                    paid[bill.openid] += bill.amount
            return dict(paid)

    def received_by_account(self) -> dict[str, int]:
        """Fen each split receiver holds: SUCCESS splits minus returns."""
        with self._lock:
            return {account: amount for account, amount in self._received.items() if amount}

    def request_log(self, endpoint: str | None = None, *, number: str | None = None) -> list[dict[str, Any]]:
        """Every request seen: method, path, endpoint, number, headers, body, mode, status ("dropped")."""
        with self._lock:
            return [
                dict(entry)
                for entry in self._log
                if (endpoint is None or entry["endpoint"] == endpoint) and (number is None or entry["number"] == number)
            ]

    def split_order(self, out_order_no: str) -> dict[str, Any]:
        with self._lock:
            return self._order_view(self._orders[out_order_no])

    def transfer_bill(self, out_bill_no: str) -> dict[str, Any]:
        """The stored bill, including the decrypted user_name the client sent."""
        with self._lock:
            return dataclasses.asdict(self._bills[out_bill_no])

    def confirm_transfer(self, out_bill_no: str, *, accept: bool = True) -> None:
        """The user confirms (SUCCESS) or the bill is cancelled (CANCELLED) while WAIT_USER_CONFIRM."""
        with self._lock:
            bill = self._bills[out_bill_no]
            if bill.state != "WAIT_USER_CONFIRM":
                raise ValueError(f"bill {out_bill_no} is {bill.state}, not WAIT_USER_CONFIRM")
            self.set_transfer_state(out_bill_no, "SUCCESS" if accept else "CANCELLED")

    def set_transfer_state(self, out_bill_no: str, state: str, fail_reason: str = "") -> None:
        with self._lock:
            bill = self._bills[out_bill_no]
            bill.state = bill.final_state = state
            bill.fail_reason = fail_reason
            bill.pending_polls = 0
            bill.update_time = self._iso_now()

    # --- notifications ---------------------------------------------------------------------------------------
    def make_notification(
        self,
        resource: Mapping[str, Any],
        *,
        event_type: str,
        original_type: str,
        summary: str = "",
        tamper: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A callback as WeChat would POST it: (headers, body), the resource encrypted with the APIv3 key and
        the body signed with the platform key. `tamper`: "body" (changed after signing), "ciphertext"
        (signed, but the ciphertext does not decrypt), "stale" (timestamp 10 minutes old)."""
        nonce = secrets.token_hex(6)  # 12 characters, the GCM nonce WeChat uses
        ciphertext = self._aead.encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), original_type.encode()
        )
        if tamper == "ciphertext":
            ciphertext = bytes([ciphertext[0] ^ 0x01]) + ciphertext[1:]
        envelope = {
            "id": str(uuid.uuid4()),
            "create_time": self._iso_now(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": original_type,
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        headers = self._signature_headers(body, "stale" if tamper == "stale" else "valid")
        if tamper == "body":
            body = json.dumps({**envelope, "event_type": "TAMPERED"}, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
        return headers, body

    def transfer_notification(self, out_bill_no: str, *, tamper: str | None = None) -> tuple[dict[str, str], bytes]:
        """The MCHTRANSFER.BILL.FINISHED callback for a bill, from its current state."""
        with self._lock:
            bill = self._bills[out_bill_no]
            resource = {
                "out_bill_no": bill.out_bill_no,
                "transfer_bill_no": bill.transfer_bill_no,
                "state": bill.state,
                "mch_id": self.keys.mchid,
                "transfer_amount": bill.amount,
                "openid": bill.openid,
                "create_time": bill.create_time,
                "update_time": bill.update_time,
            }
            if bill.fail_reason:
                resource["fail_reason"] = bill.fail_reason
        return self.make_notification(
            resource,
            event_type="MCHTRANSFER.BILL.FINISHED",
            original_type="mch_payment",
            summary="商家转账单据终态通知",
            tamper=tamper,
        )

    # --- HTTP plumbing -----------------------------------------------------------------------------------------
    def _now(self) -> float:
        return self._clock() + self.clock_offset

    def _iso_now(self) -> str:
        return datetime.fromtimestamp(self._now(), CST).isoformat(timespec="seconds")

    def _next_id(self, prefix: str, width: int) -> str:
        return f"{prefix}{next(self._ids):0{width}d}"

    def _serve(self, handler: _Handler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        target = urlsplit(handler.path)
        endpoint, path_number = self._route(method, target.path)
        entry: dict[str, Any] = {
            "method": method,
            "path": handler.path,
            "endpoint": endpoint,
            "number": path_number,
            "headers": dict(handler.headers.items()),
            "raw_body": raw,
            "body": None,
            "mode": None,
            "status": None,
        }
        with self._lock:
            self._log.append(entry)
        reply = self._process(handler, method, raw, target.query, endpoint, path_number, entry)
        if reply is None:
            entry["status"] = "dropped"
            handler.close_connection = True  # no status line, no body: the client sees the connection die
            return
        entry["status"] = reply.status
        self._send(handler, reply)

    def _process(
        self,
        handler: _Handler,
        method: str,
        raw: bytes,
        query: str,
        endpoint: str | None,
        path_number: str | None,
        entry: dict[str, Any],
    ) -> _Reply | None:
        if endpoint is None:
            return _error(404, "NOT_FOUND", "no such endpoint", signature="missing")
        problem = self._authorization_problem(method, handler.path, raw, handler.headers)
        if problem is not None:
            # WeChat cannot sign an answer to a request it could not authenticate.
            return _error(401, "SIGN_ERROR", problem, signature="missing")
        if "application/json" not in handler.headers.get("Accept", ""):
            return _error(400, "PARAM_ERROR", "Accept must be application/json")
        if not handler.headers.get("User-Agent"):
            return _error(400, "PARAM_ERROR", "User-Agent is required")
        body: dict[str, Any] = {}
        if method == "POST":
            if not handler.headers.get("Content-Type", "").startswith("application/json"):
                return _error(400, "PARAM_ERROR", "Content-Type must be application/json")
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "PARAM_ERROR", "body is not JSON")
            if not isinstance(body, dict):
                return _error(400, "PARAM_ERROR", "body is not a JSON object")
        entry["body"] = body
        number = path_number or self._body_number(endpoint, body)
        entry["number"] = number

        rule = self._take_rule(endpoint, number)
        mode = rule.mode if rule else "ok"
        params = rule.params if rule else {}
        entry["mode"] = mode
        signature = params.get("signature", "valid")

        # Refusals that happen before anything is executed.
        if mode == "timeout_before":
            return None
        if mode == "system_error":
            return _error(500, "SYSTEM_ERROR", "系统错误，请使用相同参数稍后重新调用", signature=signature)
        if mode == "rate_limit":
            return _error(429, "FREQUENCY_LIMITED", "频率超限，请降低请求频率", signature=signature)
        if mode == "param_error":
            return _error(400, "PARAM_ERROR", params.get("message", "参数错误"), signature=signature)
        if mode == "not_enough":
            return _error(403, "NOT_ENOUGH", params.get("message", "余额不足"), signature=signature)
        if mode == "order_not_ready":
            return _error(400, "INVALID_REQUEST", ORDER_PROCESSING_MESSAGE, signature=signature)
        if mode == "error":
            return _error(
                params.get("status", 400),
                params.get("code", "INVALID_REQUEST"),
                params.get("message", ""),
                signature=signature,
            )

        query_args = {key: values[0] for key, values in parse_qs(query).items()}
        with self._lock:
            reply = self._execute(endpoint, number, body, query_args, handler.headers, mode, params)
        reply.signature = signature if signature != "valid" else reply.signature

        # Executed; now lose or spoil the answer.
        if mode == "timeout":
            return None
        if mode == "hang":
            time.sleep(float(params.get("delay", 0.5)))
            return None
        if mode == "system_error_after":
            return _error(500, "SYSTEM_ERROR", "系统错误，请使用相同参数稍后重新调用", signature=signature)
        if mode == "bad_gateway":
            return _Reply(502, "<html><body>502 Bad Gateway</body></html>", signature="missing")
        if mode == "unsigned":
            reply.signature = "missing"
        elif mode == "forged":
            reply.signature = "tampered"
        elif mode == "stale_timestamp":
            reply.signature = "stale"
        return reply

    @staticmethod
    def _route(method: str, path: str) -> tuple[str | None, str | None]:
        if method == "POST":
            return (
                {
                    "/v3/profitsharing/receivers/add": "receivers_add",
                    "/v3/profitsharing/orders": "split",
                    "/v3/profitsharing/orders/unfreeze": "unfreeze",
                    "/v3/profitsharing/return-orders": "return",
                    "/v3/fund-app/mch-transfer/transfer-bills": "transfer",
                }.get(path),
                None,
            )
        if method == "GET":
            match = re.fullmatch(r"/v3/profitsharing/orders/([^/]+)", path)
            if match:
                return "split_query", unquote(match.group(1))
            match = re.fullmatch(r"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/([^/]+)", path)
            if match:
                return "transfer_query", unquote(match.group(1))
        return None, None

    @staticmethod
    def _body_number(endpoint: str, body: Mapping[str, Any]) -> str | None:
        key = {
            "receivers_add": "account",
            "split": "out_order_no",
            "unfreeze": "out_order_no",
            "return": "out_return_no",
            "transfer": "out_bill_no",
        }.get(endpoint)
        value = body.get(key) if key else None
        return value if isinstance(value, str) else None

    def _authorization_problem(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> str | None:
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
        if abs(self._now() - timestamp) > 300:
            return "timestamp out of range (请求时间与微信支付服务器时间相差超过5分钟)"
        message = f"{method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        try:
            self._merchant_key.verify(
                base64.b64decode(fields["signature"], validate=True), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return "签名错误 (signature does not verify with the merchant public key)"
        return None

    def _signature_headers(self, body: bytes, signature: str) -> dict[str, str]:
        if signature == "missing":
            return {}
        timestamp = str(int(self._now()) - (600 if signature == "stale" else 0))
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

    def _send(self, handler: _Handler, reply: _Reply) -> None:
        if isinstance(reply.payload, str):
            body, content_type = reply.payload.encode(), "text/html"
        else:
            body, content_type = json.dumps(reply.payload, ensure_ascii=False).encode(), "application/json"
        headers = self._signature_headers(body, reply.signature)
        if reply.signature == "tampered":
            # Signed the real answer, then changed it on the way, as a man in the middle would.
            tampered = {**reply.payload, "forged": True} if isinstance(reply.payload, dict) else reply.payload
            body = json.dumps(tampered, ensure_ascii=False).encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", f"{content_type}; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-ID", uuid.uuid4().hex)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    # --- the provider's behaviour -----------------------------------------------------------------------------
    def _execute(
        self,
        endpoint: str,
        number: str | None,
        body: dict[str, Any],
        query: dict[str, str],
        headers: Mapping[str, str],
        mode: str,
        params: dict[str, Any],
    ) -> _Reply:
        if endpoint == "receivers_add":
            return self._receivers_add(body, headers)
        if endpoint == "split":
            return self._split(body, mode, params)
        if endpoint == "split_query":
            return self._split_query(number or "", query)
        if endpoint == "unfreeze":
            return self._unfreeze(body, mode, params)
        if endpoint == "return":
            return self._return(body)
        if endpoint == "transfer":
            return self._transfer(body, headers, mode, params)
        return self._transfer_query(number or "")

    def _decrypt_name(self, ciphertext: Any, headers: Mapping[str, str]) -> str | None:
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

    def _transaction(self, transaction_id: str) -> _Transaction:
        if transaction_id not in self._transactions:
            self._transactions[transaction_id] = _Transaction(total=self.default_transaction_amount)
        return self._transactions[transaction_id]

    def _receivers_add(self, body: dict[str, Any], headers: Mapping[str, str]) -> _Reply:
        if body.get("appid") != self.keys.appid:
            return _error(400, "PARAM_ERROR", "appid 与商户号不匹配")
        type_, account, relation = body.get("type"), body.get("account"), body.get("relation_type")
        if type_ not in RECEIVER_TYPES or not isinstance(account, str) or not account:
            return _error(400, "PARAM_ERROR", "分账接收方类型或账号错误")
        if relation not in RELATION_TYPES or (relation == "CUSTOM" and not body.get("custom_relation")):
            return _error(400, "PARAM_ERROR", "与分账方的关系类型错误")
        name = None
        if "name" in body:
            name = self._decrypt_name(body["name"], headers)
            if name is None:
                return _error(400, "PARAM_ERROR", "name 解密失败，请使用微信支付公钥加密并设置 Wechatpay-Serial")
        if type_ == "MERCHANT_ID" and not name:
            return _error(400, "PARAM_ERROR", "分账接收方类型为 MERCHANT_ID 时 name 必填（商户全称）")
        self._receivers[(type_, account)] = {"relation_type": relation, "name": name}
        return _Reply(200, {"type": type_, "account": account, "relation_type": relation})

    def _split(self, body: dict[str, Any], mode: str, params: dict[str, Any]) -> _Reply:
        if body.get("appid") != self.keys.appid:
            return _error(400, "PARAM_ERROR", "appid 与商户号不匹配")
        transaction_id, out_order_no = body.get("transaction_id"), body.get("out_order_no")
        raw_receivers, unfreeze_unsplit = body.get("receivers"), body.get("unfreeze_unsplit")
        if not isinstance(transaction_id, str) or not transaction_id:
            return _error(400, "PARAM_ERROR", "transaction_id 必填")
        if not isinstance(out_order_no, str) or not OUT_ORDER_NO_RE.fullmatch(out_order_no):
            return _error(400, "PARAM_ERROR", "out_order_no 格式错误")
        if not isinstance(unfreeze_unsplit, bool):
            return _error(400, "PARAM_ERROR", "unfreeze_unsplit 必填")
        if not isinstance(raw_receivers, list) or not raw_receivers:
            return _error(400, "PARAM_ERROR", "receivers 至少一个")
        if len(raw_receivers) > self.max_receivers:
            return _error(400, "PARAM_ERROR", f"分账接收方不能超过{self.max_receivers}个")
        receivers = []
        for raw in raw_receivers:
            if not isinstance(raw, dict) or raw.get("type") not in RECEIVER_TYPES:
                return _error(400, "PARAM_ERROR", "分账接收方类型错误")
            amount = raw.get("amount")
            if type(amount) is not int or amount <= 0:
                return _error(400, "PARAM_ERROR", "分账金额必须为正整数（分）")
            if not isinstance(raw.get("account"), str) or not raw.get("description"):
                return _error(400, "PARAM_ERROR", "分账接收方账号和描述必填")
            receivers.append(
                {"type": raw["type"], "account": raw["account"], "amount": amount, "description": raw["description"]}
            )
        fingerprint = (
            "split",
            transaction_id,
            tuple((r["type"], r["account"], r["amount"], r["description"]) for r in receivers),
            unfreeze_unsplit,
        )
        existing = self._orders.get(out_order_no)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return _error(400, "INVALID_REQUEST", DETAILS_DIFFER)
            return _Reply(200, self._order_view(existing))

        transaction = self._transaction(transaction_id)
        if transaction.finished:
            return _error(400, "INVALID_REQUEST", "该笔订单已完结分账，不能再分账")
        if transaction.split_count >= self.max_splits_per_transaction:
            return _error(400, "INVALID_REQUEST", f"同一笔订单最多发起{self.max_splits_per_transaction}次分账请求")
        total = sum(r["amount"] for r in receivers)
        if total > transaction.remaining:
            return _error(403, "NOT_ENOUGH", "分账金额不足（待分账金额小于本次分账金额）")

        for receiver in receivers:
            receiver["detail_id"] = self._next_id("36011111111111111111", 10)
            receiver["result"], receiver["fail_reason"] = "SUCCESS", ""
            if self.require_added_receivers and (receiver["type"], receiver["account"]) not in self._receivers:
                receiver["result"], receiver["fail_reason"] = "CLOSED", "NO_RELATION"
            elif mode == "receiver_closed" and params.get("receiver") in (None, receiver["account"]):
                receiver["result"], receiver["fail_reason"] = "CLOSED", params.get("fail_reason", "ACCOUNT_ABNORMAL")
        order = _Order(
            kind="split",
            out_order_no=out_order_no,
            order_id=self._next_id("30084507402014111100", 8),
            transaction_id=transaction_id,
            fingerprint=fingerprint,
            receivers=receivers,
            unfreeze_after=unfreeze_unsplit,
            create_time=self._iso_now(),
        )
        transaction.reserved += total
        transaction.split_count += 1
        if unfreeze_unsplit:
            transaction.finished = True
        self._start_order(order, mode, params)
        self._executed["split"][out_order_no] += 1
        return _Reply(200, self._order_view(order))

    def _unfreeze(self, body: dict[str, Any], mode: str, params: dict[str, Any]) -> _Reply:
        transaction_id, out_order_no, description = (
            body.get("transaction_id"),
            body.get("out_order_no"),
            body.get("description"),
        )
        if not isinstance(transaction_id, str) or not transaction_id:
            return _error(400, "PARAM_ERROR", "transaction_id 必填")
        if not isinstance(out_order_no, str) or not OUT_ORDER_NO_RE.fullmatch(out_order_no):
            return _error(400, "PARAM_ERROR", "out_order_no 格式错误")
        if not isinstance(description, str) or not description:
            return _error(400, "PARAM_ERROR", "description 必填")
        fingerprint = ("unfreeze", transaction_id, description)
        existing = self._orders.get(out_order_no)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return _error(400, "INVALID_REQUEST", DETAILS_DIFFER)
            return _Reply(200, self._order_view(existing))
        transaction = self._transaction(transaction_id)
        if transaction.finished:
            return _error(400, "INVALID_REQUEST", "该笔订单已完结分账")
        order = _Order(
            kind="unfreeze",
            out_order_no=out_order_no,
            order_id=self._next_id("30084507402014111100", 8),
            transaction_id=transaction_id,
            fingerprint=fingerprint,
            receivers=[
                {
                    "type": "MERCHANT_ID",
                    "account": self.keys.mchid,
                    "amount": transaction.remaining,
                    "description": description,
                    "detail_id": self._next_id("36011111111111111111", 10),
                    "result": "SUCCESS",
                    "fail_reason": "",
                }
            ],
            unfreeze_after=False,
            create_time=self._iso_now(),
        )
        transaction.unfrozen += transaction.remaining
        transaction.finished = True
        self._start_order(order, mode, params)
        self._executed["unfreeze"][out_order_no] += 1
        return _Reply(200, self._order_view(order))

    def _start_order(self, order: _Order, mode: str, params: dict[str, Any]) -> None:
        self._orders[order.out_order_no] = order
        if mode == "processing":
            order.pending_polls = int(params.get("polls", 2))
        else:
            self._finish_order(order)

    def _finish_order(self, order: _Order) -> None:
        """Apply the planned per-receiver results: money reaches SUCCESS receivers, CLOSED goes back."""
        transaction = self._transaction(order.transaction_id)
        order.finished = True
        order.finish_time = self._iso_now()
        if order.kind == "unfreeze":
            return
        for receiver in order.receivers:
            if receiver["result"] == "SUCCESS":
                self._received[receiver["account"]] += receiver["amount"]
            else:
                transaction.reserved -= receiver["amount"]
                if transaction.finished:
                    transaction.unfrozen += receiver["amount"]
        if order.unfreeze_after:
            transaction.unfrozen += transaction.remaining

    def _order_view(self, order: _Order) -> dict[str, Any]:
        receivers = []
        for receiver in order.receivers:
            view = {
                "amount": receiver["amount"],
                "description": receiver["description"],
                "type": receiver["type"],
                "account": receiver["account"],
                "result": receiver["result"] if order.finished else "PENDING",
                "detail_id": receiver["detail_id"],
                "create_time": order.create_time,
            }
            if order.finished:
                view["finish_time"] = order.finish_time
                if receiver["fail_reason"]:
                    view["fail_reason"] = receiver["fail_reason"]
            receivers.append(view)
        return {
            "transaction_id": order.transaction_id,
            "out_order_no": order.out_order_no,
            "order_id": order.order_id,
            "state": "FINISHED" if order.finished else "PROCESSING",
            "receivers": receivers,
        }

    def _split_query(self, out_order_no: str, query: dict[str, str]) -> _Reply:
        transaction_id = query.get("transaction_id")
        if not transaction_id:
            return _error(400, "PARAM_ERROR", "transaction_id 必填")
        order = self._orders.get(out_order_no)
        if order is None or order.transaction_id != transaction_id:
            return _error(404, "RESOURCE_NOT_EXISTS", "记录不存在")
        if not order.finished:
            if order.pending_polls > 0:
                order.pending_polls -= 1
            else:
                self._finish_order(order)
        return _Reply(200, self._order_view(order))

    def _return(self, body: dict[str, Any]) -> _Reply:
        out_return_no, return_mchid = body.get("out_return_no"), body.get("return_mchid")
        amount, description = body.get("amount"), body.get("description")
        out_order_no, order_id = body.get("out_order_no"), body.get("order_id")
        if not isinstance(out_return_no, str) or not OUT_ORDER_NO_RE.fullmatch(out_return_no):
            return _error(400, "PARAM_ERROR", "out_return_no 格式错误")
        if not (isinstance(out_order_no, str) or isinstance(order_id, str)):
            return _error(400, "PARAM_ERROR", "order_id 与 out_order_no 必填其一")
        if not isinstance(return_mchid, str) or not return_mchid:
            return _error(400, "PARAM_ERROR", "return_mchid 必填")
        if type(amount) is not int or amount <= 0:
            return _error(400, "PARAM_ERROR", "回退金额必须为正整数（分）")
        if not isinstance(description, str) or not description:
            return _error(400, "PARAM_ERROR", "description 必填")
        fingerprint = ("return", out_order_no, order_id, return_mchid, amount, description)
        existing = self._returns.get(out_return_no)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return _error(400, "INVALID_REQUEST", DETAILS_DIFFER)
            return _Reply(200, self._return_view(existing))
        order = self._orders.get(out_order_no) if out_order_no else None
        if order is None and order_id:
            order = next((o for o in self._orders.values() if o.order_id == order_id), None)
        if order is None or order.kind != "split":
            return _error(404, "RESOURCE_NOT_EXISTS", "分账单不存在")
        if not order.finished:
            return _error(400, "INVALID_REQUEST", "分账处理中，暂不能回退")
        matches = [r for r in order.receivers if r["account"] == return_mchid]
        if not matches:
            return _error(400, "INVALID_REQUEST", "回退方不是该分账单的分账接收方")
        if any(r["type"] != "MERCHANT_ID" for r in matches):
            return _error(400, "PARAM_ERROR", "只能从 MERCHANT_ID 类型的分账接收方回退，个人账户（openid）不支持回退")
        got = sum(r["amount"] for r in matches if r["result"] == "SUCCESS")
        returnable = got - self._returned[(order.out_order_no, return_mchid)]
        if amount > returnable:
            return _error(400, "INVALID_REQUEST", f"回退金额超过可回退金额（{returnable}分）")
        record = _Return(
            out_return_no=out_return_no,
            return_id=self._next_id("90001000052019011200", 8),
            order=order,
            return_mchid=return_mchid,
            amount=amount,
            description=description,
            fingerprint=fingerprint,
            create_time=self._iso_now(),
        )
        self._returns[out_return_no] = record
        self._returned[(order.out_order_no, return_mchid)] += amount
        self._received[return_mchid] -= amount
        self._executed["return"][out_return_no] += 1
        return _Reply(200, self._return_view(record))

    def _return_view(self, record: _Return) -> dict[str, Any]:
        return {
            "order_id": record.order.order_id,
            "out_order_no": record.order.out_order_no,
            "out_return_no": record.out_return_no,
            "return_id": record.return_id,
            "return_mchid": record.return_mchid,
            "amount": record.amount,
            "description": record.description,
            "result": "SUCCESS",
            "create_time": record.create_time,
            "finish_time": record.create_time,
        }

    def _transfer(self, body: dict[str, Any], headers: Mapping[str, str], mode: str, params: dict[str, Any]) -> _Reply:
        if body.get("appid") != self.keys.appid:
            return _error(400, "PARAM_ERROR", "appid 与商户号不匹配")
        out_bill_no, openid, amount = body.get("out_bill_no"), body.get("openid"), body.get("transfer_amount")
        scene_id, remark = body.get("transfer_scene_id"), body.get("transfer_remark")
        if not isinstance(out_bill_no, str) or not OUT_BILL_NO_RE.fullmatch(out_bill_no):
            return _error(400, "PARAM_ERROR", "out_bill_no 只能由数字、大小写字母组成，最长32位")
        if not isinstance(openid, str) or not openid:
            return _error(400, "PARAM_ERROR", "openid 必填")
        if type(amount) is not int:
            return _error(400, "PARAM_ERROR", "transfer_amount 必须为整数（分）")
        if not isinstance(scene_id, str) or not scene_id:
            return _error(400, "PARAM_ERROR", "transfer_scene_id 必填")
        if not isinstance(remark, str) or not remark or len(remark) > 32:
            return _error(400, "PARAM_ERROR", "transfer_remark 必填，最多32个字符")
        user_name = None
        if "user_name" in body:
            user_name = self._decrypt_name(body["user_name"], headers)
            if user_name is None:
                return _error(400, "PARAM_ERROR", "user_name 解密失败，请使用微信支付公钥加密并设置 Wechatpay-Serial")
        fingerprint = (openid, amount, scene_id, remark, user_name)
        existing = self._bills.get(out_bill_no)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return _error(400, "INVALID_REQUEST", DETAILS_DIFFER)
            return _Reply(200, self._bill_create_view(existing))
        if amount < self.min_transfer_amount:
            return _error(400, "PARAM_ERROR", f"转账金额不能低于{self.min_transfer_amount}分")
        if amount >= self.user_name_threshold and not user_name:
            return _error(400, "PARAM_ERROR", "转账金额>=2,000元时，收款用户姓名 user_name 必填")

        day = datetime.fromtimestamp(self._now(), CST).date().isoformat()
        used_today = sum(
            bill.amount
            for bill in self._bills.values()
            if bill.openid == openid and bill.day == day and bill.state not in ("FAIL", "CANCELLED")
        )
        over_limit = used_today + amount > self.daily_limit_per_openid
        if over_limit and self.daily_limit_behaviour == "refuse":
            return _error(403, "DAY_RECEIVED_QUOTA_EXCEED", "超过用户单日收款额度，核实产品设置是否准确")

        now = self._iso_now()
        state, final_state, fail_reason, package_info, polls = "SUCCESS", "SUCCESS", "", "", 0
        if over_limit:
            state = final_state = "FAIL"
            fail_reason = "DAY_RECEIVED_QUOTA_EXCEED"
        elif mode == "transfer_fail":
            state = final_state = "FAIL"
            fail_reason = params.get("fail_reason", "ACCOUNT_FROZEN")
        elif mode == "wait_user_confirm":
            state = final_state = "WAIT_USER_CONFIRM"
            package_info = base64.b64encode(secrets.token_bytes(24)).decode()
        elif mode == "processing":
            state, polls = "ACCEPTED", int(params.get("polls", 2))
        bill = _Bill(
            out_bill_no=out_bill_no,
            transfer_bill_no=self._next_id("1330000071100999991182020050700", 9),
            openid=openid,
            amount=amount,
            scene_id=scene_id,
            remark=remark,
            user_name=user_name,
            fingerprint=fingerprint,
            state=state,
            final_state=final_state,
            fail_reason=fail_reason,
            package_info=package_info,
            day=day,
            create_time=now,
            update_time=now,
            pending_polls=polls,
        )
        self._bills[out_bill_no] = bill
        self._executed["transfer"][out_bill_no] += 1
        return _Reply(200, self._bill_create_view(bill))

    @staticmethod
    def _bill_create_view(bill: _Bill) -> dict[str, Any]:
        view = {
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "create_time": bill.create_time,
            "state": bill.state,
        }
        if bill.fail_reason:
            view["fail_reason"] = bill.fail_reason
        if bill.package_info and bill.state == "WAIT_USER_CONFIRM":
            view["package_info"] = bill.package_info
        return view

    def _transfer_query(self, out_bill_no: str) -> _Reply:
        bill = self._bills.get(out_bill_no)
        if bill is None:
            return _error(404, "NOT_FOUND", "记录不存在")
        if bill.state in ("ACCEPTED", "PROCESSING"):
            if bill.pending_polls > 0:
                bill.pending_polls -= 1
                bill.state = "PROCESSING"
            else:
                bill.state = bill.final_state
            bill.update_time = self._iso_now()
        view = {
            "mch_id": self.keys.mchid,
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "appid": self.keys.appid,
            "state": bill.state,
            "transfer_amount": bill.amount,
            "transfer_remark": bill.remark,
            "openid": bill.openid,
            "create_time": bill.create_time,
            "update_time": bill.update_time,
        }
        if bill.fail_reason:
            view["fail_reason"] = bill.fail_reason
        return _Reply(200, view)


@contextmanager
def running_wechatpay_stub(**config_overrides: Any) -> Iterator[tuple[WechatPayStub, WechatPayClient]]:
    """A started stub and a client pointed at it, for tests that need both and nothing special.

    Usable directly or from a fixture: ``with running_wechatpay_stub() as (stub, client): yield ...``"""
    config, keys = make_key_sets()
    with WechatPayStub(keys) as stub, stub.make_client(config, **config_overrides) as client:
        yield stub, client
