"""Callbacks as WeChat POSTs them to the merchant: the resource encrypted with the APIv3 key, the envelope
signed with the platform key, or spoiled on purpose so a test can check that the receiver refuses it."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from tests.stubs.wechatpay.state import StubState


def make_notification(
    state: StubState,
    resource: Mapping[str, Any],
    *,
    event_type: str,
    original_type: str,
    summary: str = "",
    tamper: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a callback. `tamper`: "body" (changed after signing), "ciphertext" (signed, but
    the ciphertext does not decrypt), "stale" (timestamp 10 minutes old)."""
    nonce = secrets.token_hex(6)  # 12 characters, the GCM nonce WeChat uses
    ciphertext = state.signer.encrypt_resource(nonce, json.dumps(resource, ensure_ascii=False).encode(), original_type)
    if tamper == "ciphertext":
        ciphertext = bytes([ciphertext[0] ^ 0x01]) + ciphertext[1:]
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": state.iso_now(),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": original_type,
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    headers = state.signer.signature_headers(body, "stale" if tamper == "stale" else "valid", state.now())
    if tamper == "body":
        body = json.dumps({**envelope, "event_type": "TAMPERED"}, ensure_ascii=False).encode()
    headers["Content-Type"] = "application/json"
    return headers, body


def transfer_notification(
    state: StubState, out_bill_no: str, *, tamper: str | None = None
) -> tuple[dict[str, str], bytes]:
    """The MCHTRANSFER.BILL.FINISHED callback for a bill, from its current state."""
    with state.lock:
        bill = state.bills[out_bill_no]
        resource = {
            "out_bill_no": bill.out_bill_no,
            "transfer_bill_no": bill.transfer_bill_no,
            "state": bill.state,
            "mch_id": state.keys.mchid,
            "transfer_amount": bill.amount,
            "openid": bill.openid,
            "create_time": bill.create_time,
            "update_time": bill.update_time,
        }
        if bill.fail_reason:
            resource["fail_reason"] = bill.fail_reason
    return make_notification(
        state,
        resource,
        event_type="MCHTRANSFER.BILL.FINISHED",
        original_type="mch_payment",
        summary="商家转账单据终态通知",
        tamper=tamper,
    )


def take_due_notifications(state: StubState) -> list[tuple[str, dict[str, str], bytes]]:
    """(notify_url, headers, body) of every bill that ended since the last call, as WeChat would post them,
    in order; each is handed out once (a test delivers it, or drops it to exercise the query fallback)."""
    with state.lock:
        due, state.finished_bills = state.finished_bills, []
        urls = {number: state.bills[number].notify_url for number in due}
    return [(urls[number], *transfer_notification(state, number)) for number in due]
