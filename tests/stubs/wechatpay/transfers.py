"""Merchant transfers to a user's balance (商家转账): creating a transfer bill, with the scene's report
infos WeChat requires, the daily limit per openid, the real-name threshold and the outcomes a test can
shape, and the query that moves an ACCEPTED bill on and closes one left unconfirmed past its deadline.
Each handler runs under the state's lock."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from tests.stubs.wechatpay.protocol import DETAILS_DIFFER, Call, Reply, error
from tests.stubs.wechatpay.state import FINAL_STATES, Bill, StubState

OUT_BILL_NO_RE = re.compile(r"^[0-9A-Za-z]{1,32}$")
TRANSFER_BILL_NO_PREFIX = "1330000071100999991182020050700"
# What WeChat checks per transfer scene (转账场景): the report infos it must carry, and the receipt wording
# the payee may be shown. Written from WeChat's scene page, independently of the product's own table.
SCENE_REPORT_INFOS = {"1000": ("活动名称", "奖励说明"), "1005": ("岗位类型", "报酬说明")}
SCENE_PERCEPTIONS = {"1000": ("现金奖励", "活动奖励"), "1005": ("劳务报酬", "报酬")}


def scene_refusal(body: dict[str, Any]) -> Reply | None:
    """PARAM_ERROR for a bill whose scene is unknown or lacks its report infos or a valid perception."""
    scene_id = body.get("transfer_scene_id")
    if scene_id not in SCENE_REPORT_INFOS:
        return error(400, "PARAM_ERROR", "转账场景ID不存在或未开通")
    infos = body.get("transfer_scene_report_infos")
    reported = {}
    if isinstance(infos, list):
        for info in infos:
            if isinstance(info, dict) and isinstance(info.get("info_content"), str) and info["info_content"]:
                reported[info.get("info_type")] = info["info_content"]
    missing = [info_type for info_type in SCENE_REPORT_INFOS[scene_id] if info_type not in reported]
    if missing:
        return error(400, "PARAM_ERROR", f"转账场景报备信息不完整，缺少：{'、'.join(missing)}")
    perception = body.get("user_recv_perception")
    if perception is not None and perception not in SCENE_PERCEPTIONS[scene_id]:
        return error(400, "PARAM_ERROR", "用户收款感知与转账场景不匹配")
    if scene_id == "1000" and perception is None:
        return error(400, "PARAM_ERROR", "该转账场景需传入用户收款感知 user_recv_perception")
    return None


def transfer(state: StubState, call: Call) -> Reply:
    body, mode, params = call.body, call.mode, call.params
    if body.get("appid") != state.keys.appid:
        return error(400, "PARAM_ERROR", "appid 与商户号不匹配")
    out_bill_no, openid, amount = body.get("out_bill_no"), body.get("openid"), body.get("transfer_amount")
    scene_id, remark = body.get("transfer_scene_id"), body.get("transfer_remark")
    if not isinstance(out_bill_no, str) or not OUT_BILL_NO_RE.fullmatch(out_bill_no):
        return error(400, "PARAM_ERROR", "out_bill_no 只能由数字、大小写字母组成，最长32位")
    if not isinstance(openid, str) or not openid:
        return error(400, "PARAM_ERROR", "openid 必填")
    if type(amount) is not int:
        return error(400, "PARAM_ERROR", "transfer_amount 必须为整数（分）")
    if not isinstance(scene_id, str) or not scene_id:
        return error(400, "PARAM_ERROR", "transfer_scene_id 必填")
    if not isinstance(remark, str) or not remark or len(remark) > 32:
        return error(400, "PARAM_ERROR", "transfer_remark 必填，最多32个字符")
    user_name = None
    if "user_name" in body:
        user_name = state.signer.decrypt_name(body["user_name"], call.headers)
        if user_name is None:
            return error(400, "PARAM_ERROR", "user_name 解密失败，请使用微信支付公钥加密并设置 Wechatpay-Serial")
    fingerprint = (openid, amount, scene_id, remark, user_name)
    existing = state.bills.get(out_bill_no)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            return error(400, "INVALID_REQUEST", DETAILS_DIFFER)
        return Reply(200, _bill_create_view(existing))
    refused = scene_refusal(body)
    if refused is not None:
        return refused
    if amount < state.min_transfer_amount:
        return error(400, "PARAM_ERROR", f"转账金额不能低于{state.min_transfer_amount}分")
    if amount >= state.user_name_threshold and not user_name:
        return error(400, "PARAM_ERROR", "转账金额>=2,000元时，收款用户姓名 user_name 必填")

    day = state.today()
    used_today = sum(
        bill.amount
        for bill in state.bills.values()
        if bill.openid == openid and bill.day == day and bill.state not in ("FAIL", "CANCELLED")
    )
    over_limit = used_today + amount > state.daily_limit_per_openid
    if over_limit and state.daily_limit_behaviour == "refuse":
        return error(403, "DAY_RECEIVED_QUOTA_EXCEED", "超过用户单日收款额度，核实产品设置是否准确")

    now = state.iso_now()
    bill_state, final_state, fail_reason, package_info, polls = "SUCCESS", "SUCCESS", "", "", 0
    if over_limit:
        bill_state = final_state = "FAIL"
        fail_reason = "DAY_RECEIVED_QUOTA_EXCEED"
    elif mode == "transfer_fail":
        bill_state = final_state = "FAIL"
        fail_reason = params.get("fail_reason", "ACCOUNT_FROZEN")
    elif mode == "wait_user_confirm":
        bill_state = final_state = "WAIT_USER_CONFIRM"
        package_info = base64.b64encode(secrets.token_bytes(24)).decode()
    elif mode == "processing":
        bill_state, polls = "ACCEPTED", int(params.get("polls", 2))
    bill = Bill(
        out_bill_no=out_bill_no,
        transfer_bill_no=state.next_id(TRANSFER_BILL_NO_PREFIX, 9),
        openid=openid,
        amount=amount,
        scene_id=scene_id,
        remark=remark,
        user_name=user_name,
        fingerprint=fingerprint,
        state=bill_state,
        final_state=final_state,
        fail_reason=fail_reason,
        package_info=package_info,
        day=day,
        create_time=now,
        update_time=now,
        pending_polls=polls,
        notify_url=body.get("notify_url") or "",
        confirm_deadline=state.now() + state.unconfirmed_ttl_seconds,
    )
    state.bills[out_bill_no] = bill
    state.executed["transfer"][out_bill_no] += 1
    if bill.state in FINAL_STATES:
        state.bill_finished(bill)
    return Reply(200, _bill_create_view(bill))


def _bill_create_view(bill: Bill) -> dict[str, Any]:
    view = {
        "out_bill_no": bill.out_bill_no,
        "transfer_bill_no": bill.transfer_bill_no,
        "create_time": bill.create_time,
        "state": bill.state,
    }
    if bill.fail_reason:
        view["fail_reason"] = bill.fail_reason
    if bill.package_info and bill.state == "WAIT_USER_CONFIRM":
        view["package_info"] = bill.package_info
    return view


def transfer_query(state: StubState, call: Call) -> Reply:
    bill = state.bills.get(call.number or "")
    if bill is None:
        return error(404, "NOT_FOUND", "记录不存在")
    state.expire_unconfirmed_transfers()
    if bill.state in ("ACCEPTED", "PROCESSING"):
        if bill.pending_polls > 0:
            bill.pending_polls -= 1
            bill.state = "PROCESSING"
        else:
            bill.state = bill.final_state
            if bill.state in FINAL_STATES:
                state.bill_finished(bill)
        bill.update_time = state.iso_now()
    view = {
        "mch_id": state.keys.mchid,
        "out_bill_no": bill.out_bill_no,
        "transfer_bill_no": bill.transfer_bill_no,
        "appid": state.keys.appid,
        "state": bill.state,
        "transfer_amount": bill.amount,
        "transfer_remark": bill.remark,
        "openid": bill.openid,
        "create_time": bill.create_time,
        "update_time": bill.update_time,
    }
    if bill.fail_reason:
        view["fail_reason"] = bill.fail_reason
    return Reply(200, view)
