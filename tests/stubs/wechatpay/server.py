"""The stub's HTTP server: one request per connection, each checked (route, Authorization signature, the
headers WeChat requires, a JSON body), passed through the failure rules and the route's handler, and
answered signed with the platform key (or dropped, or spoiled, as a rule says)."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from settlements.providers.wechatpay.client import WechatPayClient
from settlements.providers.wechatpay.transport import WechatPayConfig
from tests.stubs.wechatpay import faults, notifications, profitsharing, routes
from tests.stubs.wechatpay.faults import Rules
from tests.stubs.wechatpay.keys import StubKeys, make_key_sets
from tests.stubs.wechatpay.protocol import Call, Reply, error
from tests.stubs.wechatpay.state import StubState


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


class WechatPayStub(StubState):
    """The local WeChat Pay v3 server. Use as a context manager (or start()/stop()).

    The limits a test may change, and the calls that set up a scenario and inspect what happened, are
    `StubState`'s; failures are programmed with `fail_next` and `script` (modes: `faults.MODES`)."""

    def __init__(self, keys: StubKeys, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(keys, clock=clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

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
        with self.lock:
            super().reset()
            self.rules = Rules()

    # --- failure injection -----------------------------------------------------------------------------------
    def fail_next(self, endpoint: str, mode: str, count: int = 1, *, number: str | None = None, **params: Any) -> None:
        """Apply `mode` to the next `count` requests to `endpoint` (only those for `number`, if given).

        Params: polls (processing: queries that still answer PROCESSING, default 2), receiver (receiver_closed:
        the account to close, default all), fail_reason, delay (hang, default 0.5 s), status/code/message
        (error), signature ("valid" | "missing" | "bad" | "stale" | "tampered") to override how the answer
        is signed. Rules are consumed in the order they were added."""
        self.rules.add(endpoint, mode, count, number, params)

    def script(
        self, endpoint: str, modes: list[str | tuple[str, dict[str, Any]]], *, number: str | None = None
    ) -> None:
        """One mode per upcoming request, in order; "ok" lets a request through untouched."""
        for item in modes:
            mode, params = (item, {}) if isinstance(item, str) else item
            self.fail_next(endpoint, mode, 1, number=number, **params)

    def clear_rules(self) -> None:
        self.rules.clear()

    # --- a topic's inspection and notifications ---------------------------------------------------------------
    def split_order(self, out_order_no: str) -> dict[str, Any]:
        with self.lock:
            return profitsharing.order_view(self.orders[out_order_no])

    # a callback as WeChat would POST it, (headers, body): see the notifications module
    make_notification = notifications.make_notification
    transfer_notification = notifications.transfer_notification
    # the notifications of bills that ended (those sent with a notify_url), each once: [(url, headers, body)]
    take_due_notifications = notifications.take_due_notifications

    # --- HTTP plumbing -----------------------------------------------------------------------------------------
    def _serve(self, handler: _Handler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        target = urlsplit(handler.path)
        route, path_number = routes.resolve(method, target.path)
        entry: dict[str, Any] = {
            "method": method,
            "path": handler.path,
            "endpoint": route.endpoint if route else None,
            "number": path_number,
            "headers": dict(handler.headers.items()),
            "raw_body": raw,
            "body": None,
            "mode": None,
            "status": None,
        }
        with self.lock:
            self.log.append(entry)
        reply = self._process(handler, method, raw, target.query, route, path_number, entry)
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
        route: routes.Route | None,
        path_number: str | None,
        entry: dict[str, Any],
    ) -> Reply | None:
        if route is None:
            return error(404, "NOT_FOUND", "no such endpoint", signature="missing")
        problem = self.signer.authorization_problem(method, handler.path, raw, handler.headers, self.now())
        if problem is not None:
            # WeChat cannot sign an answer to a request it could not authenticate.
            return error(401, "SIGN_ERROR", problem, signature="missing")
        if "application/json" not in handler.headers.get("Accept", ""):
            return error(400, "PARAM_ERROR", "Accept must be application/json")
        if not handler.headers.get("User-Agent"):
            return error(400, "PARAM_ERROR", "User-Agent is required")
        body: dict[str, Any] = {}
        if method == "POST":
            if not handler.headers.get("Content-Type", "").startswith("application/json"):
                return error(400, "PARAM_ERROR", "Content-Type must be application/json")
            try:
                body = json.loads(raw)
            except ValueError:
                return error(400, "PARAM_ERROR", "body is not JSON")
            if not isinstance(body, dict):
                return error(400, "PARAM_ERROR", "body is not a JSON object")
        entry["body"] = body
        number = path_number or route.number_in(body)
        entry["number"] = number

        rule = self.rules.take(route.endpoint, number)
        mode = rule.mode if rule else "ok"
        params = rule.params if rule else {}
        entry["mode"] = mode
        signature = params.get("signature", "valid")

        # Refusals that happen before anything is executed.
        if mode == "timeout_before":
            return None
        refused = faults.refusal(mode, params, signature)
        if refused is not None:
            return refused

        query_args = {key: values[0] for key, values in parse_qs(query).items()}
        call = Call(number, body, query_args, handler.headers, mode, params)
        with self.lock:
            reply = route.handler(self, call)
        reply.signature = signature if signature != "valid" else reply.signature

        # Executed; now lose or spoil the answer.
        return faults.after_execution(mode, params, reply, signature)

    def _send(self, handler: _Handler, reply: Reply) -> None:
        if isinstance(reply.payload, str):
            body, content_type = reply.payload.encode(), "text/html"
        else:
            body, content_type = json.dumps(reply.payload, ensure_ascii=False).encode(), "application/json"
        headers = self.signer.signature_headers(body, reply.signature, self.now())
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


@contextmanager
def running_wechatpay_stub(**config_overrides: Any) -> Iterator[tuple[WechatPayStub, WechatPayClient]]:
    """A started stub and a client pointed at it, for tests that need both and nothing special.

    Usable directly or from a fixture: ``with running_wechatpay_stub() as (stub, client): yield ...``"""
    config, keys = make_key_sets()
    with WechatPayStub(keys) as stub, stub.make_client(config, **config_overrides) as client:
        yield stub, client
