"""Alipay transfers to a person's Alipay account (单笔转账, alipay.fund.trans.uni.transfer) and the query
by our number (alipay.fund.trans.common.query), for withdrawals.

A transfer is one order under our number (`out_biz_no`): the same number with the same details is the same
order, with other details Alipay refuses it (PAYMENT_INFO_INCONSISTENCY). After an unknown outcome (a
timeout, code 20000, SYSTEM_ERROR, a code we do not know) the order is queried with that number; only an
order the query does not find may be sent again, and with the same number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from distribution.money import MoneyFormatError, format_amount, parse_amount
from settlements.providers.alipay.transport import AlipayTransport
from settlements.providers.base import ProviderError, ProviderUnknownOutcome

TRANSFER = "alipay.fund.trans.uni.transfer"
QUERY = "alipay.fund.trans.common.query"
PRODUCT_CODE = "TRANS_ACCOUNT_NO_PWD"  # 单笔无密转账到支付宝账户
BIZ_SCENE = "DIRECT_TRANSFER"
OUT_BIZ_NO_RE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
USER_ID_RE = re.compile(r"^2088[0-9]{12}$")  # an Alipay user id: 16 digits starting 2088
MIN_AMOUNT = 10  # fen: TRANS_ACCOUNT_NO_PWD takes [0.1, 100000000] yuan

# Refusals at creation that Alipay documents as final for the order (no money moved), decided on the
# sub_code only. Every other code (SYSTEM_ERROR, RESOURCE_LIMIT_EXCEED, anything new) leaves the outcome
# unknown: query first. The payout code confirms even these with a query before it settles on them.
FINAL_REFUSALS = frozenset(
    {
        # the merchant's side
        "PAYER_BALANCE_NOT_ENOUGH",  # 付款方余额不足
        "BALANCE_IS_NOT_ENOUGH",
        "PAYCARD_UNABLE_PAYMENT",
        "PAYER_STATUS_ERROR",
        "PAYER_CERTIFY_CHECK_FAIL",
        "PAYER_PERMLIMIT_CHECK_FAILURE",
        "NO_ACCOUNT_PAYMENT_PERMISSION",
        "PRODUCT_NOT_SIGN",
        "PERMIT_CHECK_PERM_LIMITED",
        # the payee's side
        "PAYEE_NOT_EXIST",  # 收款用户不存在
        "PAYEE_ACCOUNT_NOT_EXSIT",  # (sic) 收款账号不存在
        "PAYEE_USER_INFO_ERROR",  # 支付宝账号和姓名不匹配
        "PAYEE_ACCOUNT_STATUS_ERROR",  # 收款方账号异常 (frozen, restricted)
        "PAYEE_USERINFO_STATUS_ERROR",  # 收款方用户状态不正常
        "PAYEE_ACC_OCUPIED",  # the login id belongs to several accounts
        "PAYEE_NOT_RELNAME_CERTIFY",
        "PERMIT_NON_BANK_LIMIT_PAYEE",
        "PERM_AML_NOT_REALNAME_REV",
        "NO_ACCOUNT_RECEIVE_PERMISSION",
        "PERMIT_CHECK_PERM_IDENTITY_THEFT",
        # limits and the request itself
        "EXCEED_LIMIT_SM_AMOUNT",
        "EXCEED_LIMIT_PERSONAL_SM_AMOUNT",
        "EXCEED_LIMIT_DM_AMOUNT",
        "EXCEED_LIMIT_DM_MAX_AMOUNT",
        "EXCEED_LIMIT_MM_AMOUNT",
        "EXCEED_LIMIT_UNRN_DM_AMOUNT",
        "EXCEED_LIMIT_DC_RECEIVED",
        "PAYER_PAYEE_CANNOT_SAME",
        "PAYMENT_INFO_INCONSISTENCY",  # our number reused with other details
        "REMARK_HAS_SENSITIVE_WORD",
        "SECURITY_CHECK_FAILED",
        "INVALID_PARAMETER",
    }
)
NOT_FOUND = "ORDER_NOT_EXIST"  # the query's answer for a number Alipay never took


@dataclass(frozen=True)
class Payee:
    """Who is paid: an Alipay login id (phone or e-mail) or user id, and the account holder's real name,
    which Alipay checks against the account (required for a login id)."""

    identity: str
    name: str

    @property
    def identity_type(self) -> str:
        return "ALIPAY_USER_ID" if USER_ID_RE.fullmatch(self.identity) else "ALIPAY_LOGON_ID"


@dataclass(frozen=True)
class AlipayTransfer:
    out_biz_no: str
    order_id: str  # Alipay's number for the transfer
    status: str  # SUCCESS | DEALING | INIT | FAIL | REFUND | CLOSED (and anything new: not final)
    amount: int | None = None  # fen, when the answer says
    fail_reason: str = ""

    FINAL_SUCCESS = frozenset({"SUCCESS"})
    FINAL_FAILURE = frozenset({"FAIL", "REFUND", "CLOSED"})

    @property
    def paid(self) -> bool | None:
        """True when the money reached the payee, False when it never will, None while not final."""
        if self.status in self.FINAL_SUCCESS:
            return True
        if self.status in self.FINAL_FAILURE:
            return False
        return None


class AlipayClient(AlipayTransport):
    """Transfers and their query over the open-platform gateway."""

    def create_transfer(self, *, out_biz_no: str, amount: int, payee: Payee, title: str, remark: str) -> AlipayTransfer:
        """Transfer `amount` fen to `payee`. A documented final refusal is a `ProviderError`; anything else
        that is not a clear answer is `ProviderUnknownOutcome`."""
        _require_number(out_biz_no)
        if type(amount) is not int or amount < MIN_AMOUNT:
            raise ValueError(f"amount must be an int number of fen, at least {MIN_AMOUNT}, got {amount!r}")
        if not payee.identity or not payee.name:
            raise ValueError("the payee needs an Alipay identity and a real name")
        biz = {
            "out_biz_no": out_biz_no,
            "trans_amount": format_amount(amount, "CNY"),
            "product_code": PRODUCT_CODE,
            "biz_scene": BIZ_SCENE,
            "order_title": title,
            "payee_info": {"identity": payee.identity, "identity_type": payee.identity_type, "name": payee.name},
            "remark": remark,
        }
        try:
            answer = self.call(TRANSFER, biz)
        except ProviderError as exc:
            if exc.code in FINAL_REFUSALS:
                raise
            raise ProviderUnknownOutcome(f"{TRANSFER}: {exc.code} {exc.message}".rstrip()) from exc
        return _parse(answer, out_biz_no)

    def query_transfer(self, *, out_biz_no: str) -> AlipayTransfer:
        """The order under our number; `ProviderError(ORDER_NOT_EXIST)` when Alipay never took it."""
        _require_number(out_biz_no)
        biz = {"out_biz_no": out_biz_no, "product_code": PRODUCT_CODE, "biz_scene": BIZ_SCENE}
        try:
            answer = self.call(QUERY, biz)
        except ProviderError as exc:
            if exc.code == NOT_FOUND:
                raise
            raise ProviderUnknownOutcome(f"{QUERY}: {exc.code} {exc.message}".rstrip()) from exc
        return _parse(answer, out_biz_no)


def _require_number(out_biz_no: str) -> None:
    if not isinstance(out_biz_no, str) or not OUT_BIZ_NO_RE.fullmatch(out_biz_no):
        raise ValueError(f"out_biz_no {out_biz_no!r} does not match {OUT_BIZ_NO_RE.pattern}")


def _parse(answer: dict[str, Any], out_biz_no: str) -> AlipayTransfer:
    """A signed answer about our number; one about another number, or one we cannot read, is unknown."""
    echoed, order_id, status = answer.get("out_biz_no"), answer.get("order_id", ""), answer.get("status")
    if echoed != out_biz_no:
        raise ProviderUnknownOutcome(f"signed answer is about {echoed!r}, not {out_biz_no!r}")
    if not isinstance(status, str) or not isinstance(order_id, str):
        raise ProviderUnknownOutcome(f"signed answer for {out_biz_no} has no status")
    text = answer.get("trans_amount")
    try:
        amount = parse_amount(text, "CNY") if isinstance(text, str) else None
    except MoneyFormatError as exc:
        raise ProviderUnknownOutcome(f"signed answer for {out_biz_no} has an unreadable amount") from exc
    reason = answer.get("fail_reason") or answer.get("error_code") or ""
    return AlipayTransfer(
        out_biz_no=out_biz_no, order_id=order_id, status=status, amount=amount, fail_reason=str(reason)
    )
