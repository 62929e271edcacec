"""The stub's HTTP gateway: one form POST per connection to `/gateway.do`, its common parameters and RSA2
signature checked with the app's public key, passed through the failure rules and the method's handler
(alipay.fund.trans.uni.transfer -> "transfer", alipay.fund.trans.common.query -> "query"), and answered as
`{"<method>_response": {...}, "sign": "..."}` signed with the stub's key (or dropped, or spoiled, as a
rule says)."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import requests

from settlements.providers.alipay.signing import (
    load_private_key,
    load_public_key,
    response_key,
    rsa2_sign,
    rsa2_verify,
    signing_string,
)
from settlements.providers.alipay.transfers import AlipayClient
from settlements.providers.alipay.transport import AlipayConfig
from tests.stubs.alipay.orders import Ledger, refusal
from tests.stubs.wechatpay.keys import public_key_pem, rsa_private_key_pem

METHODS = {"alipay.fund.trans.uni.transfer": "transfer", "alipay.fund.trans.common.query": "query"}
DEFAULT_APP_ID = "2021000000000001"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_BOTH = frozenset(METHODS.values())
MODES: dict[str, frozenset[str]] = {
    # refused before anything happens
    "system_busy": _BOTH,  # 40004 SYSTEM_ERROR 系统繁忙, nothing executed
    "unknown": _BOTH,  # 20000 isp.unknow-error, nothing executed
    "timeout_before": _BOTH,  # connection dropped, nothing executed
    # executed, then the answer is lost or unusable
    "timeout_after_success": frozenset({"transfer"}),  # executed (money moved), connection dropped
    "system_busy_after": frozenset({"transfer"}),  # executed, then 40004 SYSTEM_ERROR
    "unknown_after": frozenset({"transfer"}),  # executed, then 20000
    "unknown_code": frozenset({"transfer"}),  # executed, then 40004 with a sub_code nobody documented
    "unsigned": _BOTH,  # executed, the answer carries no sign
    "forged": _BOTH,  # executed, the answer changed after it was signed
    # shaping the outcome of a new order
    "dealing": frozenset({"transfer"}),  # DEALING for `polls` queries, then SUCCESS
    "fail_later": frozenset({"transfer"}),  # DEALING for `polls` queries, then FAIL with `fail_reason`
}


@dataclass(frozen=True)
class StubKeys:
    """What the stub needs: the app's public key (to check requests) and its own private key (to sign)."""

    app_id: str
    app_public_key_pem: str = field(repr=False)
    alipay_private_key_pem: str = field(repr=False)


def make_alipay_keys(*, app_id: str = DEFAULT_APP_ID) -> tuple[AlipayConfig, StubKeys]:
    """A matching pair: the client's config (point it at the stub with `stub.make_client`) and the stub's keys.
    The app's key pair and Alipay's differ, as in production."""
    app_private, alipay_private = rsa_private_key_pem("alipay-app"), rsa_private_key_pem("alipay-gateway")
    config = AlipayConfig(
        app_id=app_id,
        app_private_key_pem=app_private,
        alipay_public_key_pem=public_key_pem(alipay_private),
        gateway_url="http://127.0.0.1:9/gateway.do",
    )
    return config, StubKeys(app_id, public_key_pem(app_private), alipay_private)


@dataclass
class _Rule:
    endpoint: str
    mode: str
    remaining: int
    number: str | None
    params: dict[str, Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: AlipayStub


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        self.server.stub._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the stub keeps its own request log."""


class AlipayStub(Ledger):
    """The local gateway. Use as a context manager. Set the scene with `add_account` and `payer_balance`,
    program failures with `fail_next`, and read what happened with `executed_transfers`, `received` and
    `request_log`."""

    def __init__(self, keys: StubKeys) -> None:
        super().__init__()
        self.keys = keys
        self.lock = threading.RLock()
        self.log: list[dict[str, Any]] = []
        self._rules: list[_Rule] = []
        self._signing_key = load_private_key(keys.alipay_private_key_pem)
        self._app_key = load_public_key(keys.app_public_key_pem)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------
    def __enter__(self) -> AlipayStub:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.stub = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    @property
    def gateway_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/gateway.do"

    def make_client(self, config: AlipayConfig, **overrides: Any) -> AlipayClient:
        """A client for this stub; its session ignores proxy settings, the stub is local."""
        session = requests.Session()
        session.trust_env = False
        return AlipayClient(dataclasses.replace(config, gateway_url=self.gateway_url, **overrides), session=session)

    # --- scenario and inspection -------------------------------------------------------------------------------
    def fail_next(self, endpoint: str, mode: str, count: int = 1, *, number: str | None = None, **params: Any) -> None:
        """Apply `mode` (see MODES) to the next `count` calls of `endpoint` ("transfer" or "query"), only those
        for `number` if given. Params: polls, fail_reason (dealing, fail_later)."""
        if endpoint not in MODES.get(mode, frozenset()):
            raise ValueError(f"mode {mode!r} does not apply to {endpoint!r}")
        with self.lock:
            self._rules.append(_Rule(endpoint, mode, count, number, params))

    def executed_transfers(self) -> dict[str, int]:
        """out_biz_no -> how many orders were really created under it (never more than 1 if all is well)."""
        with self.lock:
            return dict(self.executed)

    def received_by(self) -> dict[str, int]:
        """Fen that reached each payee's account (user id), from orders that ended SUCCESS."""
        with self.lock:
            return {user: fen for user, fen in self.received.items() if fen}

    def request_log(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(entry) for entry in self.log if endpoint is None or entry["endpoint"] == endpoint]

    def _take(self, endpoint: str, number: str | None) -> _Rule | None:
        with self.lock:
            for rule in self._rules:
                if rule.endpoint == endpoint and rule.number in (None, number):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    # --- HTTP ------------------------------------------------------------------------------------------------------
    def _serve(self, handler: _Handler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        params = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        method = params.get("method", "")
        endpoint = METHODS.get(method)
        entry: dict[str, Any] = {"endpoint": endpoint, "params": params, "number": None, "mode": "ok", "status": None}
        with self.lock:
            self.log.append(entry)
        answer = self._process(handler, params, endpoint, entry)
        if answer is None:
            entry["status"] = "dropped"
            handler.close_connection = True  # no status line: the client sees the connection die
            return
        entry["status"] = 200
        body = answer.encode()
        handler.send_response(200)  # the gateway answers 200 whatever the outcome
        handler.send_header("Content-Type", "text/html;charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _process(
        self, handler: _Handler, params: dict[str, str], endpoint: str | None, entry: dict[str, Any]
    ) -> str | None:
        key = response_key(params.get("method") or "error")
        if not handler.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._answer(key, _gateway("40001", "isv.missing-method", "form post expected"), sign=False)
        if endpoint is None:
            return self._answer("error_response", _gateway("40002", "isv.invalid-method", "不存在的方法名"), sign=False)
        for name, expected in (("format", "JSON"), ("charset", "utf-8"), ("sign_type", "RSA2"), ("version", "1.0")):
            if params.get(name, expected if name == "format" else "") != expected:
                return self._answer(key, _gateway("40002", f"isv.invalid-{name}", f"{name} 无效"), sign=False)
        if params.get("app_id") != self.keys.app_id:
            return self._answer(key, _gateway("40002", "isv.invalid-app-id", "无效的AppID参数"), sign=False)
        if not TIMESTAMP_RE.fullmatch(params.get("timestamp", "")):
            return self._answer(key, _gateway("40002", "isv.invalid-timestamp", "非法的时间戳参数"), sign=False)
        if not rsa2_verify(self._app_key, signing_string(params), params.get("sign", "")):
            return self._answer(key, _gateway("40002", "isv.invalid-signature", "验签出错"), sign=False)
        try:
            biz = json.loads(params.get("biz_content", ""))
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            return self._answer(key, _gateway("40002", "isv.invalid-parameter", "biz_content 不是JSON对象"))
        number = biz.get("out_biz_no") if isinstance(biz.get("out_biz_no"), str) else None
        rule = self._take(endpoint, number)
        mode, rule_params = (rule.mode, rule.params) if rule else ("ok", {})
        entry.update(number=number, mode=mode, biz=biz)

        # Refused before anything happens, or executed and then the answer is lost or replaced.
        before = {"timeout_before": None, "system_busy": _busy(), "unknown": _unknown()}
        after = {
            "timeout_after_success": None,
            "system_busy_after": _busy(),
            "unknown_after": _unknown(),
            "unknown_code": refusal("NEW_UNDOCUMENTED_CODE", "?")[1],
        }
        if mode in before:
            return None if before[mode] is None else self._answer(key, before[mode])
        with self.lock:
            code, view = self.transfer(biz, mode, rule_params) if endpoint == "transfer" else self.query(biz)
        view = view if "code" in view else {"code": code, "msg": "Success", **view}
        if mode in after:
            return None if after[mode] is None else self._answer(key, after[mode])
        if mode == "unsigned":
            return self._answer(key, view, sign=False)
        if mode == "forged":
            return self._answer(key, view, tamper=True)
        return self._answer(key, view)

    def _answer(self, key: str, view: dict[str, Any], *, sign: bool = True, tamper: bool = False) -> str:
        """The body as Alipay writes it: the response value's exact text, then its signature (`tamper`: the
        text changed after signing, as a man in the middle would)."""
        text = json.dumps(view, ensure_ascii=False, separators=(",", ":"))
        if not sign:
            return f'{{"{key}":{text}}}'
        signature = rsa2_sign(self._signing_key, text)
        if tamper:
            text = json.dumps({**view, "status": "SUCCESS", "forged": True}, ensure_ascii=False, separators=(",", ":"))
        return f'{{"{key}":{text},"sign":"{signature}"}}'


def _gateway(code: str, sub_code: str, message: str) -> dict[str, Any]:
    names = {"40001": "Missing Required Arguments", "40002": "Invalid Arguments"}
    return {"code": code, "msg": names[code], "sub_code": sub_code, "sub_msg": message}


def _busy() -> dict[str, Any]:
    return refusal("SYSTEM_ERROR")[1]


def _unknown() -> dict[str, Any]:
    return {
        "code": "20000",
        "msg": "Service Currently Unavailable",
        "sub_code": "isp.unknow-error",
        "sub_msg": "系统繁忙",
    }


@contextmanager
def running_alipay_stub(**overrides: Any) -> Iterator[tuple[AlipayStub, AlipayClient]]:
    """A started stub and a client pointed at it."""
    config, keys = make_alipay_keys()
    with AlipayStub(keys) as stub, stub.make_client(config, **overrides) as client:
        yield stub, client
