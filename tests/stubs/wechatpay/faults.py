"""Programmable failures: the modes a test can ask for, the rules that hold them until requests consume
them, and what each mode does to a request before it is executed (a refusal) or after (a lost or spoiled
answer). Endpoint names are the route table's."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.stubs.wechatpay.protocol import ORDER_PROCESSING_MESSAGE, SYSTEM_ERROR_MESSAGE, Reply, error
from tests.stubs.wechatpay.routes import ENDPOINTS

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
    "order_not_ready": frozenset({"split", "unfreeze"}),  # 400 INVALID_REQUEST 订单处理中 (or `message`)
    # executed, then the answer is lost or unusable
    "timeout": _ALL,  # executed, connection dropped without an answer
    "hang": _ALL,  # executed, answer withheld for `delay` seconds, then dropped (client read timeout)
    "system_error_after": _ALL,  # executed, then 500 SYSTEM_ERROR
    "error_after": _ALL,  # executed, then any answer: params status=, code=, message= (signed)
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


@dataclass
class Rule:
    endpoint: str
    mode: str
    remaining: int
    number: str | None
    params: dict[str, Any]


class Rules:
    """The pending rules, consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def add(self, endpoint: str, mode: str, count: int, number: str | None, params: dict[str, Any]) -> None:
        if endpoint not in MODES.get(mode, frozenset()):
            raise ValueError(f"mode {mode!r} does not apply to endpoint {endpoint!r}")
        unknown = set(params) - _RULE_PARAMS
        if unknown:
            raise TypeError(f"unknown rule params {sorted(unknown)}")
        if params.get("signature", "valid") not in _SIGNATURES:
            raise ValueError(f"signature must be one of {sorted(_SIGNATURES)}")
        with self._lock:
            self._rules.append(Rule(endpoint, mode, count, number, dict(params)))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, endpoint: str, number: str | None) -> Rule | None:
        """The first rule for this request, one use of it consumed; None if no rule applies."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint == endpoint and rule.remaining > 0 and rule.number in (None, number):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None


def refusal(mode: str, params: dict[str, Any], signature: str) -> Reply | None:
    """The answer of a mode that refuses before anything is executed; None if the request goes on.
    ("timeout_before" refuses by dropping the connection: the caller checks for it first.)"""
    if mode == "system_error":
        return error(500, "SYSTEM_ERROR", SYSTEM_ERROR_MESSAGE, signature=signature)
    if mode == "rate_limit":
        return error(429, "FREQUENCY_LIMITED", "频率超限，请降低请求频率", signature=signature)
    if mode == "param_error":
        return error(400, "PARAM_ERROR", params.get("message", "参数错误"), signature=signature)
    if mode == "not_enough":
        return error(403, "NOT_ENOUGH", params.get("message", "余额不足"), signature=signature)
    if mode == "order_not_ready":
        return error(400, "INVALID_REQUEST", params.get("message", ORDER_PROCESSING_MESSAGE), signature=signature)
    if mode == "error":
        return scripted_error(params, signature)
    return None


def scripted_error(params: dict[str, Any], signature: str) -> Reply:
    """The answer a test chose: params status (400), code (INVALID_REQUEST), message."""
    return error(
        params.get("status", 400), params.get("code", "INVALID_REQUEST"), params.get("message", ""), signature=signature
    )


def after_execution(mode: str, params: dict[str, Any], reply: Reply, signature: str) -> Reply | None:
    """The executed request's answer as the mode leaves it: lost (None: the connection is dropped),
    replaced, or signed wrongly; `reply` unchanged for the other modes."""
    if mode == "timeout":
        return None
    if mode == "hang":
        time.sleep(float(params.get("delay", 0.5)))
        return None
    if mode == "system_error_after":
        return error(500, "SYSTEM_ERROR", SYSTEM_ERROR_MESSAGE, signature=signature)
    if mode == "error_after":
        return scripted_error(params, signature)
    if mode == "bad_gateway":
        return Reply(502, "<html><body>502 Bad Gateway</body></html>", signature="missing")
    if mode == "unsigned":
        reply.signature = "missing"
    elif mode == "forged":
        reply.signature = "tampered"
    elif mode == "stale_timestamp":
        reply.signature = "stale"
    return reply
