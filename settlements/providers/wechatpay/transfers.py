"""WeChat Pay merchant transfers (商家转账) to a person's WeChat balance, for withdrawals.

A transfer bill is one request under our number (`out_bill_no`): the same number with the same details
is the same bill, so after an unknown outcome the caller queries it, never a new number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from settlements.providers.base import TransferResult
from settlements.providers.wechatpay.transport import WechatPayTransport, get_str, require_fen, require_number

logger = logging.getLogger(__name__)

# Bill numbers as WeChat accepts them: letters and digits up to 32, checked before any money moves.
OUT_BILL_NO_RE = re.compile(r"^[0-9A-Za-z]{1,32}$")
TRANSFER_STATES = frozenset(
    {"ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM", "TRANSFERING", "SUCCESS", "FAIL", "CANCELING", "CANCELLED"}
)


class TransferApi(WechatPayTransport):
    """`TransferProvider` (settlements.providers.base) over API v3."""

    def create_transfer(
        self,
        *,
        out_bill_no: str,
        openid: str,
        amount: int,
        transfer_scene_id: str,
        remark: str,
        user_name: str | None = None,
    ) -> TransferResult:
        """Create a transfer bill to a user's WeChat balance. Reusing `out_bill_no` with the same details
        returns the existing bill; with different details WeChat refuses (INVALID_REQUEST). `user_name` is
        the real name, required by WeChat from ¥2,000 up; it is encrypted with the platform key."""
        require_number(out_bill_no, OUT_BILL_NO_RE, "out_bill_no")
        payload: dict[str, Any] = {
            "appid": self._config.appid,
            "out_bill_no": out_bill_no,
            "transfer_scene_id": transfer_scene_id,
            "openid": openid,
            "transfer_amount": require_fen(amount),
            "transfer_remark": remark,
        }
        sensitive = False
        if user_name:
            payload["user_name"] = self.encrypt_sensitive(user_name)
            sensitive = True
        if self._config.transfer_notify_url:
            payload["notify_url"] = self._config.transfer_notify_url
        if self._config.transfer_user_recv_perception:
            payload["user_recv_perception"] = self._config.transfer_user_recv_perception
        if self._config.transfer_scene_report_infos:
            payload["transfer_scene_report_infos"] = [
                {"info_type": info_type, "info_content": info_content}
                for info_type, info_content in self._config.transfer_scene_report_infos
            ]
        data = self._call("POST", "/v3/fund-app/mch-transfer/transfer-bills", payload=payload, sensitive=sensitive)
        return self._parse(parse_transfer_bill, data, out_bill_no)

    def query_transfer(self, *, out_bill_no: str) -> TransferResult:
        """Query a transfer bill by our number; not found is ProviderError NOT_FOUND (http_status 404)."""
        require_number(out_bill_no, OUT_BILL_NO_RE, "out_bill_no")
        data = self._call("GET", f"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}")
        return self._parse(parse_transfer_bill, data, out_bill_no)


def parse_transfer_bill(data: Mapping[str, Any]) -> TransferResult:
    """A transfer bill from a create/query answer or a decrypted MCHTRANSFER.BILL.FINISHED notification.

    An unknown state is kept as is: `TransferResult.final` is False for it, so nobody settles on it.
    Raises ValueError if a required field is missing or has the wrong type."""
    state = get_str(data, "state")
    if state not in TRANSFER_STATES:
        logger.warning("wechatpay: unknown transfer bill state %r", state)
    return TransferResult(
        out_bill_no=get_str(data, "out_bill_no"),
        transfer_bill_no=get_str(data, "transfer_bill_no"),
        state=state,
        fail_reason=get_str(data, "fail_reason", default=""),
        package_info=get_str(data, "package_info", default=""),
    )
