"""Profit sharing (分账) as the provider behaves: receivers added, splits of a payment to receivers, the
query that moves a PROCESSING order on, unfreezing what is left to the merchant, and returns from a
merchant receiver. Each handler runs under the state's lock and validates as WeChat documents."""

from __future__ import annotations

import re
from typing import Any

from tests.stubs.wechatpay.protocol import DETAILS_DIFFER, Call, Reply, error
from tests.stubs.wechatpay.state import Order, Return, StubState

RECEIVER_TYPES = frozenset({"MERCHANT_ID", "PERSONAL_OPENID"})
RELATION_TYPES = frozenset(
    {"STORE", "STAFF", "STORE_OWNER", "PARTNER", "HEADQUARTER", "BRAND", "DISTRIBUTOR", "USER", "SUPPLIER", "CUSTOM"}
)
OUT_ORDER_NO_RE = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
ORDER_ID_PREFIX = "30084507402014111100"
DETAIL_ID_PREFIX = "36011111111111111111"
RETURN_ID_PREFIX = "90001000052019011200"


def receivers_add(state: StubState, call: Call) -> Reply:
    body = call.body
    if body.get("appid") != state.keys.appid:
        return error(400, "PARAM_ERROR", "appid 与商户号不匹配")
    type_, account, relation = body.get("type"), body.get("account"), body.get("relation_type")
    if type_ not in RECEIVER_TYPES or not isinstance(account, str) or not account:
        return error(400, "PARAM_ERROR", "分账接收方类型或账号错误")
    if relation not in RELATION_TYPES or (relation == "CUSTOM" and not body.get("custom_relation")):
        return error(400, "PARAM_ERROR", "与分账方的关系类型错误")
    name = None
    if "name" in body:
        name = state.signer.decrypt_name(body["name"], call.headers)
        if name is None:
            return error(400, "PARAM_ERROR", "name 解密失败，请使用微信支付公钥加密并设置 Wechatpay-Serial")
    if type_ == "MERCHANT_ID" and not name:
        return error(400, "PARAM_ERROR", "分账接收方类型为 MERCHANT_ID 时 name 必填（商户全称）")
    state.added_receivers[(type_, account)] = {"relation_type": relation, "name": name}
    return Reply(200, {"type": type_, "account": account, "relation_type": relation})


def receivers_delete(state: StubState, call: Call) -> Reply:
    body = call.body
    if body.get("appid") != state.keys.appid:
        return error(400, "PARAM_ERROR", "appid 与商户号不匹配")
    type_, account = body.get("type"), body.get("account")
    if type_ not in RECEIVER_TYPES or not isinstance(account, str) or not account:
        return error(400, "PARAM_ERROR", "分账接收方类型或账号错误")
    if state.added_receivers.pop((type_, account), None) is None:
        return error(400, "INVALID_REQUEST", "分账接收方不存在")
    state.deleted_receivers.append((type_, account))
    return Reply(200, {"type": type_, "account": account})


def split(state: StubState, call: Call) -> Reply:
    body, mode, params = call.body, call.mode, call.params
    if body.get("appid") != state.keys.appid:
        return error(400, "PARAM_ERROR", "appid 与商户号不匹配")
    transaction_id, out_order_no = body.get("transaction_id"), body.get("out_order_no")
    raw_receivers, unfreeze_unsplit = body.get("receivers"), body.get("unfreeze_unsplit")
    if not isinstance(transaction_id, str) or not transaction_id:
        return error(400, "PARAM_ERROR", "transaction_id 必填")
    if not isinstance(out_order_no, str) or not OUT_ORDER_NO_RE.fullmatch(out_order_no):
        return error(400, "PARAM_ERROR", "out_order_no 格式错误")
    if not isinstance(unfreeze_unsplit, bool):
        return error(400, "PARAM_ERROR", "unfreeze_unsplit 必填")
    if not isinstance(raw_receivers, list) or not raw_receivers:
        return error(400, "PARAM_ERROR", "receivers 至少一个")
    if transaction_id in state.too_soon:
        return error(400, "INVALID_REQUEST", state.too_soon[transaction_id])
    if len(raw_receivers) > state.max_receivers:
        return error(400, "PARAM_ERROR", f"分账接收方不能超过{state.max_receivers}个")
    receivers = []
    for raw in raw_receivers:
        if not isinstance(raw, dict) or raw.get("type") not in RECEIVER_TYPES:
            return error(400, "PARAM_ERROR", "分账接收方类型错误")
        amount = raw.get("amount")
        if type(amount) is not int or amount <= 0:
            return error(400, "PARAM_ERROR", "分账金额必须为正整数（分）")
        if not isinstance(raw.get("account"), str) or not raw.get("description"):
            return error(400, "PARAM_ERROR", "分账接收方账号和描述必填")
        receivers.append(
            {"type": raw["type"], "account": raw["account"], "amount": amount, "description": raw["description"]}
        )
    fingerprint = (
        "split",
        transaction_id,
        tuple((r["type"], r["account"], r["amount"], r["description"]) for r in receivers),
        unfreeze_unsplit,
    )
    existing = state.orders.get(out_order_no)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            return error(400, "INVALID_REQUEST", DETAILS_DIFFER)
        return Reply(200, order_view(existing))

    transaction = state.transaction(transaction_id)
    if transaction.finished:
        return error(400, "INVALID_REQUEST", "该笔订单已完结分账，不能再分账")
    if transaction.split_count >= state.max_splits_per_transaction:
        return error(400, "INVALID_REQUEST", f"同一笔订单最多发起{state.max_splits_per_transaction}次分账请求")
    total = sum(r["amount"] for r in receivers)
    if total > transaction.remaining:
        return error(403, "NOT_ENOUGH", "分账金额不足（待分账金额小于本次分账金额）")

    for receiver in receivers:
        receiver["detail_id"] = state.next_id(DETAIL_ID_PREFIX, 10)
        receiver["result"], receiver["fail_reason"] = "SUCCESS", ""
        if state.require_added_receivers and (receiver["type"], receiver["account"]) not in state.added_receivers:
            receiver["result"], receiver["fail_reason"] = "CLOSED", "NO_RELATION"
        elif mode == "receiver_closed" and params.get("receiver") in (None, receiver["account"]):
            receiver["result"], receiver["fail_reason"] = "CLOSED", params.get("fail_reason", "ACCOUNT_ABNORMAL")
    order = Order(
        kind="split",
        out_order_no=out_order_no,
        order_id=state.next_id(ORDER_ID_PREFIX, 8),
        transaction_id=transaction_id,
        fingerprint=fingerprint,
        receivers=receivers,
        unfreeze_after=unfreeze_unsplit,
        create_time=state.iso_now(),
    )
    transaction.reserved += total
    transaction.split_count += 1
    if unfreeze_unsplit:
        transaction.finished = True
    _start_order(state, order, mode, params)
    state.executed["split"][out_order_no] += 1
    return Reply(200, order_view(order))


def unfreeze(state: StubState, call: Call) -> Reply:
    body = call.body
    transaction_id, out_order_no, description = (
        body.get("transaction_id"),
        body.get("out_order_no"),
        body.get("description"),
    )
    if not isinstance(transaction_id, str) or not transaction_id:
        return error(400, "PARAM_ERROR", "transaction_id 必填")
    if not isinstance(out_order_no, str) or not OUT_ORDER_NO_RE.fullmatch(out_order_no):
        return error(400, "PARAM_ERROR", "out_order_no 格式错误")
    if not isinstance(description, str) or not description:
        return error(400, "PARAM_ERROR", "description 必填")
    fingerprint = ("unfreeze", transaction_id, description)
    existing = state.orders.get(out_order_no)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            return error(400, "INVALID_REQUEST", DETAILS_DIFFER)
        return Reply(200, order_view(existing))
    transaction = state.transaction(transaction_id)
    if transaction.finished:
        return error(400, "INVALID_REQUEST", "该笔订单已完结分账")
    order = Order(
        kind="unfreeze",
        out_order_no=out_order_no,
        order_id=state.next_id(ORDER_ID_PREFIX, 8),
        transaction_id=transaction_id,
        fingerprint=fingerprint,
        receivers=[
            {
                "type": "MERCHANT_ID",
                "account": state.keys.mchid,
                "amount": transaction.remaining,
                "description": description,
                "detail_id": state.next_id(DETAIL_ID_PREFIX, 10),
                "result": "SUCCESS",
                "fail_reason": "",
            }
        ],
        unfreeze_after=False,
        create_time=state.iso_now(),
    )
    transaction.unfrozen += transaction.remaining
    transaction.finished = True
    _start_order(state, order, call.mode, call.params)
    state.executed["unfreeze"][out_order_no] += 1
    return Reply(200, order_view(order))


def _start_order(state: StubState, order: Order, mode: str, params: dict[str, Any]) -> None:
    """As WeChat: a split is accepted PROCESSING and FINISHED on a later query (after `polls` queries that
    still answer PROCESSING: the state's `split_processing_polls`, or the "processing" rule's). An unfreeze
    finishes at once unless a rule says otherwise."""
    state.orders[order.out_order_no] = order
    if mode == "processing":
        order.pending_polls = int(params.get("polls", 2))
    elif order.kind == "split" and state.split_processing_polls is not None:
        order.pending_polls = state.split_processing_polls
    else:
        _finish_order(state, order)


def _finish_order(state: StubState, order: Order) -> None:
    """Apply the planned per-receiver results: money reaches SUCCESS receivers, CLOSED goes back."""
    transaction = state.transaction(order.transaction_id)
    order.finished = True
    order.finish_time = state.iso_now()
    if order.kind == "unfreeze":
        return
    for receiver in order.receivers:
        if receiver["result"] == "SUCCESS":
            state.received[receiver["account"]] += receiver["amount"]
        else:
            transaction.reserved -= receiver["amount"]
            if transaction.finished:
                transaction.unfrozen += receiver["amount"]
    if order.unfreeze_after:
        transaction.unfrozen += transaction.remaining


def order_view(order: Order) -> dict[str, Any]:
    """The order as the API answers it (receivers PENDING until the order is finished)."""
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


def split_query(state: StubState, call: Call) -> Reply:
    transaction_id = call.query.get("transaction_id")
    if not transaction_id:
        return error(400, "PARAM_ERROR", "transaction_id 必填")
    order = state.orders.get(call.number or "")
    if order is None or order.transaction_id != transaction_id:
        return error(404, "RESOURCE_NOT_EXISTS", "记录不存在")
    if not order.finished:
        if order.pending_polls > 0:
            order.pending_polls -= 1
        else:
            _finish_order(state, order)
    return Reply(200, order_view(order))


def return_order(state: StubState, call: Call) -> Reply:
    body = call.body
    out_return_no, return_mchid = body.get("out_return_no"), body.get("return_mchid")
    amount, description = body.get("amount"), body.get("description")
    out_order_no, order_id = body.get("out_order_no"), body.get("order_id")
    if not isinstance(out_return_no, str) or not OUT_ORDER_NO_RE.fullmatch(out_return_no):
        return error(400, "PARAM_ERROR", "out_return_no 格式错误")
    if not (isinstance(out_order_no, str) or isinstance(order_id, str)):
        return error(400, "PARAM_ERROR", "order_id 与 out_order_no 必填其一")
    if not isinstance(return_mchid, str) or not return_mchid:
        return error(400, "PARAM_ERROR", "return_mchid 必填")
    if type(amount) is not int or amount <= 0:
        return error(400, "PARAM_ERROR", "回退金额必须为正整数（分）")
    if not isinstance(description, str) or not description:
        return error(400, "PARAM_ERROR", "description 必填")
    fingerprint = ("return", out_order_no, order_id, return_mchid, amount, description)
    existing = state.returns.get(out_return_no)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            return error(400, "INVALID_REQUEST", DETAILS_DIFFER)
        return Reply(200, _return_view(existing))
    order = state.orders.get(out_order_no) if out_order_no else None
    if order is None and order_id:
        order = next((o for o in state.orders.values() if o.order_id == order_id), None)
    if order is None or order.kind != "split":
        return error(404, "RESOURCE_NOT_EXISTS", "分账单不存在")
    if not order.finished:
        return error(400, "INVALID_REQUEST", "分账处理中，暂不能回退")
    matches = [r for r in order.receivers if r["account"] == return_mchid]
    if not matches:
        return error(400, "INVALID_REQUEST", "回退方不是该分账单的分账接收方")
    if any(r["type"] != "MERCHANT_ID" for r in matches):
        return error(400, "PARAM_ERROR", "只能从 MERCHANT_ID 类型的分账接收方回退，个人账户（openid）不支持回退")
    got = sum(r["amount"] for r in matches if r["result"] == "SUCCESS")
    returnable = got - state.returned[(order.out_order_no, return_mchid)]
    if amount > returnable:
        return error(400, "INVALID_REQUEST", f"回退金额超过可回退金额（{returnable}分）")
    record = Return(
        out_return_no=out_return_no,
        return_id=state.next_id(RETURN_ID_PREFIX, 8),
        order=order,
        return_mchid=return_mchid,
        amount=amount,
        description=description,
        fingerprint=fingerprint,
        create_time=state.iso_now(),
    )
    state.returns[out_return_no] = record
    state.returned[(order.out_order_no, return_mchid)] += amount
    state.received[return_mchid] -= amount
    state.executed["return"][out_return_no] += 1
    return Reply(200, _return_view(record))


def _return_view(record: Return) -> dict[str, Any]:
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
