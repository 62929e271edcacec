"""The route table: the one place that maps a method and a path to the endpoint's name (what `fail_next`
and the request log call it), its handler, and where the request's number is (the path's one group, or a
body field)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.stubs.wechatpay import profitsharing, transfers
from tests.stubs.wechatpay.protocol import Call, Reply
from tests.stubs.wechatpay.state import StubState

Handler = Callable[[StubState, Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]  # matched against the whole path; a group, if any, is the number
    endpoint: str
    handler: Handler
    number_field: str | None = None  # the body field that holds the number (POSTs)

    def number_in(self, body: Mapping[str, Any]) -> str | None:
        value = body.get(self.number_field) if self.number_field else None
        return value if isinstance(value, str) else None


def _route(method: str, pattern: str, endpoint: str, handler: Handler, number_field: str | None = None) -> Route:
    return Route(method, re.compile(pattern), endpoint, handler, number_field)


ROUTES = (
    _route("POST", r"/v3/profitsharing/receivers/add", "receivers_add", profitsharing.receivers_add, "account"),
    _route(
        "POST", r"/v3/profitsharing/receivers/delete", "receivers_delete", profitsharing.receivers_delete, "account"
    ),
    _route("POST", r"/v3/profitsharing/orders", "split", profitsharing.split, "out_order_no"),
    _route("GET", r"/v3/profitsharing/orders/([^/]+)", "split_query", profitsharing.split_query),
    _route("POST", r"/v3/profitsharing/orders/unfreeze", "unfreeze", profitsharing.unfreeze, "out_order_no"),
    _route("POST", r"/v3/profitsharing/return-orders", "return", profitsharing.return_order, "out_return_no"),
    _route("POST", r"/v3/fund-app/mch-transfer/transfer-bills", "transfer", transfers.transfer, "out_bill_no"),
    _route(
        "GET",
        r"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/([^/]+)",
        "transfer_query",
        transfers.transfer_query,
    ),
)
ENDPOINTS = tuple(route.endpoint for route in ROUTES)


def resolve(method: str, path: str) -> tuple[Route | None, str | None]:
    """The route for a request and the number its path carries (URL-decoded), or (None, None)."""
    for route in ROUTES:
        if route.method == method:
            match = route.pattern.fullmatch(path)
            if match:
                return route, unquote(match.group(1)) if match.groups() else None
    return None, None
