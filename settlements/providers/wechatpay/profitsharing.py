"""WeChat Pay profit sharing (分账): receivers, splits of a payment, unfreezing the rest, returns.

A split, an unfreeze and a return are each one request under our number (`out_order_no`,
`out_return_no`): sending it again is the same request, so after an unknown outcome the caller resends or
queries with that number. Answers are parsed strictly; one about another number or payment leaves the
outcome unknown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from settlements.providers.base import ReturnResult, SplitReceiver, SplitReceiverResult, SplitResult
from settlements.providers.wechatpay.transport import (
    MalformedResponse,
    WechatPayTransport,
    get_int,
    get_str,
    require_fen,
    require_number,
)

logger = logging.getLogger(__name__)

# Our numbers as WeChat accepts them: letters, digits and _-|*@ up to 64. Checked locally so a malformed
# number is a programming error found before any money moves, not a provider refusal found in production.
OUT_ORDER_NO_RE = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")

SPLIT_STATES = frozenset({"PROCESSING", "FINISHED"})
SPLIT_RECEIVER_RESULTS = frozenset({"PENDING", "SUCCESS", "CLOSED"})
RETURN_RESULTS = frozenset({"PROCESSING", "SUCCESS", "FAILED"})


class ProfitSharingApi(WechatPayTransport):
    """`ProfitSharingProvider` (settlements.providers.base) over API v3."""

    def add_receiver(self, *, type: str, account: str, relation_type: str, name: str | None = None) -> None:
        """Register a split receiver. WeChat treats re-adding the same receiver as success, so this is safe
        to call before every split. `name` (required by WeChat for MERCHANT_ID: the merchant's full name) is
        encrypted with the platform key."""
        payload: dict[str, Any] = {
            "appid": self._config.appid,
            "type": type,
            "account": account,
            "relation_type": relation_type,
        }
        sensitive = False
        if name:
            payload["name"] = self.encrypt_sensitive(name)
            sensitive = True
        self._call("POST", "/v3/profitsharing/receivers/add", payload=payload, sensitive=sensitive)

    def delete_receiver(self, *, type: str, account: str) -> None:
        """Remove a split receiver (WeChat caps how many a merchant may hold). Deleting one that is not
        there is the provider's refusal; callers that only tidy up treat any refusal as done."""
        payload = {"appid": self._config.appid, "type": type, "account": account}
        self._call("POST", "/v3/profitsharing/receivers/delete", payload=payload)

    def request_split(
        self, *, transaction_id: str, out_order_no: str, receivers: list[SplitReceiver], unfreeze_unsplit: bool
    ) -> SplitResult:
        """Ask WeChat to split a payment. The same `out_order_no` sent again is the same request, so after
        any unknown outcome the caller resends or queries with it; the answer may still be PROCESSING."""
        require_number(out_order_no, OUT_ORDER_NO_RE, "out_order_no")
        if not receivers:
            raise ValueError("a split needs at least one receiver")
        payload = {
            "appid": self._config.appid,
            "transaction_id": transaction_id,
            "out_order_no": out_order_no,
            "receivers": [
                {
                    "type": r.type,
                    "account": r.account,
                    "amount": require_fen(r.amount, name=f"amount for {r.account}"),
                    "description": r.description,
                }
                for r in receivers
            ],
            "unfreeze_unsplit": bool(unfreeze_unsplit),
        }
        data = self._call("POST", "/v3/profitsharing/orders", payload=payload)
        return self._parse(self._split_result, data, out_order_no, transaction_id=transaction_id)

    def query_split(self, *, transaction_id: str, out_order_no: str) -> SplitResult:
        """Query a split (or an unfreeze) by our number; not found is ProviderError RESOURCE_NOT_EXISTS."""
        require_number(out_order_no, OUT_ORDER_NO_RE, "out_order_no")
        data = self._call(
            "GET",
            f"/v3/profitsharing/orders/{quote(out_order_no, safe='')}",
            params={"transaction_id": transaction_id},
        )
        return self._parse(self._split_result, data, out_order_no, transaction_id=transaction_id)

    def unfreeze(self, *, transaction_id: str, out_order_no: str, description: str) -> SplitResult:
        """Release the unsplit rest of a payment to the merchant and end splitting for it. Idempotent on
        `out_order_no` like a split; query it with `query_split`."""
        require_number(out_order_no, OUT_ORDER_NO_RE, "out_order_no")
        payload = {"transaction_id": transaction_id, "out_order_no": out_order_no, "description": description}
        data = self._call("POST", "/v3/profitsharing/orders/unfreeze", payload=payload)
        return self._parse(self._split_result, data, out_order_no, transaction_id=transaction_id)

    def return_split(
        self, *, out_return_no: str, out_order_no: str, return_mchid: str, amount: int, description: str
    ) -> ReturnResult:
        """Pull money back from a MERCHANT_ID receiver of a split (WeChat refuses returns from a person's
        openid; that case is a receivable in our ledger, not a provider call)."""
        require_number(out_return_no, OUT_ORDER_NO_RE, "out_return_no")
        require_number(out_order_no, OUT_ORDER_NO_RE, "out_order_no")
        payload = {
            "out_order_no": out_order_no,
            "out_return_no": out_return_no,
            "return_mchid": return_mchid,
            "amount": require_fen(amount),
            "description": description,
        }
        data = self._call("POST", "/v3/profitsharing/return-orders", payload=payload)
        return self._parse(self._return_result, data, out_return_no)

    @staticmethod
    def _split_result(data: Mapping[str, Any]) -> SplitResult:
        raw_receivers = data.get("receivers", [])
        if not isinstance(raw_receivers, list):
            raise MalformedResponse("receivers is not a list")
        receivers = []
        for raw in raw_receivers:
            if not isinstance(raw, dict):
                raise MalformedResponse("receiver is not an object")
            result = get_str(raw, "result")
            if result not in SPLIT_RECEIVER_RESULTS:
                logger.warning("wechatpay: unknown split receiver result %r", result)
            receivers.append(
                SplitReceiverResult(
                    type=get_str(raw, "type"),
                    account=get_str(raw, "account"),
                    amount=get_int(raw, "amount"),
                    result=result,
                    fail_reason=get_str(raw, "fail_reason", default=""),
                )
            )
        state = get_str(data, "state")
        if state not in SPLIT_STATES:
            logger.warning("wechatpay: unknown split state %r", state)
        return SplitResult(
            out_order_no=get_str(data, "out_order_no"),
            order_id=get_str(data, "order_id"),
            state=state,
            receivers=receivers,
        )

    @staticmethod
    def _return_result(data: Mapping[str, Any]) -> ReturnResult:
        result = get_str(data, "result")
        if result not in RETURN_RESULTS:
            logger.warning("wechatpay: unknown return result %r", result)
        return ReturnResult(
            out_return_no=get_str(data, "out_return_no"),
            return_id=get_str(data, "return_id"),
            result=result,
            amount=get_int(data, "amount"),
            fail_reason=get_str(data, "fail_reason", default=""),
        )
