"""What passes between the HTTP plumbing and the provider's behaviour: the request as a handler sees it
(`Call`), the answer it gives (`Reply`), and the error texts tests compare with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DETAILS_DIFFER = "number exists but details differ (单号已存在，但请求参数与原请求不一致)"
ORDER_PROCESSING_MESSAGE = "订单处理中，暂时无法分账，请稍后重试"
SYSTEM_ERROR_MESSAGE = "系统错误，请使用相同参数稍后重新调用"


@dataclass(frozen=True)
class Call:
    """One authenticated request for a handler: the number it is about (from the path or the body), its JSON
    body, its query arguments, its headers, and the failure mode and params a rule gave it ("ok": none)."""

    number: str | None
    body: dict[str, Any]
    query: dict[str, str]
    headers: Mapping[str, str]
    mode: str
    params: dict[str, Any]


class Reply:
    """What the handler should do with a request: answer (status, payload) or drop the connection."""

    def __init__(self, status: int, payload: Any, *, signature: str = "valid") -> None:
        self.status = status
        self.payload = payload
        self.signature = signature


def error(status: int, code: str, message: str, *, signature: str = "valid") -> Reply:
    return Reply(status, {"code": code, "message": message}, signature=signature)
