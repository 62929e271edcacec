"""What the stub's Alipay remembers and how the two methods answer: payee accounts, the payer's balance,
transfer orders by `out_biz_no` (the same number with the same details is the same order; with other
details it is refused), and the outcomes a failure mode shapes. Handlers run under the stub's lock."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

CHINA_TIME = timezone(timedelta(hours=8))
AMOUNT_RE = re.compile(r"^(0|[1-9]\d{0,10})(\.\d{1,2})?$")
OUT_BIZ_NO_RE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
USER_ID_RE = re.compile(r"^2088\d{12}$")

# Business refusals as Alipay words them (code 40004, decided on sub_code).
REFUSALS = {
    "PAYER_BALANCE_NOT_ENOUGH": "付款方余额不足",
    "PAYEE_NOT_EXIST": "收款用户不存在",
    "PAYEE_USER_INFO_ERROR": "支付宝账号和姓名不匹配，请确认姓名是否正确",
    "PAYEE_ACCOUNT_STATUS_ERROR": "收款方账号异常",
    "PAYMENT_INFO_INCONSISTENCY": "两次请求商户单号一样，但是关键信息不一致",
    "INVALID_PARAMETER": "参数有误",
    "SYSTEM_ERROR": "系统繁忙",
    "ORDER_NOT_EXIST": "转账订单不存在",
}


@dataclass
class Account:
    identity: str
    name: str
    user_id: str
    frozen: bool = False


@dataclass
class Order:
    out_biz_no: str
    order_id: str
    pay_fund_order_id: str
    amount: int  # fen
    user_id: str  # whose account it went to
    fingerprint: tuple[Any, ...]
    status: str
    final_status: str
    fail_reason: str
    pending_polls: int
    created: str


class Ledger:
    """The stub's Alipay: accounts, the payer's balance, orders, and what really moved."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.payer_balance = 100_000_000  # fen
        self.orders: dict[str, Order] = {}
        self.executed: Counter[str] = Counter()
        self.received: Counter[str] = Counter()  # user id -> fen
        self._ids = itertools.count(1)

    def add_account(self, identity: str, name: str, *, user_id: str | None = None, frozen: bool = False) -> str:
        """A payee's account, found by its login id and its user id; returns the user id."""
        number = next(self._ids)
        account = Account(identity, name, user_id or f"2088{number:012d}", frozen)
        self.accounts[identity] = account
        self.accounts[account.user_id] = account
        return account.user_id

    def transfer(self, biz: dict[str, Any], mode: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(code, response object) for alipay.fund.trans.uni.transfer."""
        problem = _transfer_problem(biz)
        if problem:
            return refusal("INVALID_PARAMETER", problem)
        payee, amount = biz["payee_info"], _fen(biz["trans_amount"])
        fingerprint = (amount, payee["identity"], payee["identity_type"], payee.get("name"), biz.get("order_title"))
        existing = self.orders.get(biz["out_biz_no"])
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return refusal("PAYMENT_INFO_INCONSISTENCY")
            return "10000", _create_view(existing)
        account = self.accounts.get(payee["identity"])
        if account is None or (payee["identity_type"] == "ALIPAY_USER_ID") != (account.user_id == payee["identity"]):
            return refusal("PAYEE_NOT_EXIST")
        if payee.get("name") is not None and payee["name"] != account.name:
            return refusal("PAYEE_USER_INFO_ERROR")
        if account.frozen:
            return refusal("PAYEE_ACCOUNT_STATUS_ERROR")
        if amount > self.payer_balance:
            return refusal("PAYER_BALANCE_NOT_ENOUGH")
        number = next(self._ids)
        status, final, polls, reason = "SUCCESS", "SUCCESS", 0, ""
        if mode == "dealing":
            status, polls = "DEALING", int(params.get("polls", 1))
        elif mode == "fail_later":
            status, final, polls, reason = "DEALING", "FAIL", int(params.get("polls", 1)), params.get("fail_reason", "")
        order = Order(
            out_biz_no=biz["out_biz_no"],
            order_id=f"20261203110070000006{number:012d}",
            pay_fund_order_id=f"20261203110070001506{number:012d}",
            amount=amount,
            user_id=account.user_id,
            fingerprint=fingerprint,
            status=status,
            final_status=final,
            fail_reason=reason or "",
            pending_polls=polls,
            created=datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
        )
        self.orders[order.out_biz_no] = order
        self.executed[order.out_biz_no] += 1
        self.payer_balance -= amount  # held from the payer now; returned if the order ends FAIL
        if status == "SUCCESS":
            self.received[order.user_id] += amount
        return "10000", _create_view(order)

    def query(self, biz: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(code, response object) for alipay.fund.trans.common.query by out_biz_no."""
        if biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD" or biz.get("biz_scene") != "DIRECT_TRANSFER":
            return refusal("INVALID_PARAMETER", "传入out_biz_no时product_code和biz_scene必填")
        order = self.orders.get(biz.get("out_biz_no") or "")
        if order is None:
            return refusal("ORDER_NOT_EXIST")
        if order.status == "DEALING":
            if order.pending_polls > 0:
                order.pending_polls -= 1
            else:
                order.status = order.final_status
                if order.status == "SUCCESS":
                    self.received[order.user_id] += order.amount
                else:
                    self.payer_balance += order.amount
        view = {
            "order_id": order.order_id,
            "pay_fund_order_id": order.pay_fund_order_id,
            "out_biz_no": order.out_biz_no,
            "trans_amount": _yuan(order.amount),
            "status": order.status,
            "order_fee": "0.00",
        }
        if order.status == "SUCCESS":
            view["pay_date"] = order.created
        if order.status == "FAIL":
            view["fail_reason"] = order.fail_reason or "收款方账户异常"
            view["error_code"] = "PAYEE_ACCOUNT_STATUS_ERROR"
        return "10000", view


def _transfer_problem(biz: dict[str, Any]) -> str:
    payee = biz.get("payee_info")
    if not isinstance(biz.get("out_biz_no"), str) or not OUT_BIZ_NO_RE.fullmatch(biz["out_biz_no"]):
        return "out_biz_no 只支持半角英文、数字及-_，最长64位"
    if biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD" or biz.get("biz_scene") != "DIRECT_TRANSFER":
        return "product_code/biz_scene 不支持"
    amount = biz.get("trans_amount")
    if not isinstance(amount, str) or not AMOUNT_RE.fullmatch(amount) or _fen(amount) < 10:
        return "trans_amount 单位为元，精确到小数点后两位，取值范围[0.1,100000000]"
    if not isinstance(biz.get("order_title"), str) or not biz["order_title"]:
        return "order_title 必填"
    if not isinstance(payee, dict) or not isinstance(payee.get("identity"), str):
        return "payee_info.identity 必填"
    if payee.get("identity_type") not in ("ALIPAY_USER_ID", "ALIPAY_LOGON_ID"):
        return "payee_info.identity_type 不支持"
    if payee["identity_type"] == "ALIPAY_LOGON_ID" and not payee.get("name"):
        return "identity_type为ALIPAY_LOGON_ID时，name必填"
    return ""


def _fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def refusal(sub_code: str, message: str = "") -> tuple[str, dict[str, Any]]:
    return "40004", {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": sub_code,
        "sub_msg": message or REFUSALS[sub_code],
    }


def _create_view(order: Order) -> dict[str, Any]:
    return {
        "code": "10000",
        "msg": "Success",
        "out_biz_no": order.out_biz_no,
        "order_id": order.order_id,
        "pay_fund_order_id": order.pay_fund_order_id,
        "status": order.status,
        "trans_date": order.created,
    }
