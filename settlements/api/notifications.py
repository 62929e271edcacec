"""Notifications WeChat Pay posts to us (notify_url): the outcome of a transfer bill.

WeChat authenticates with its platform signature over the raw body, not with our credentials, and expects
its own answer shape: 200/204 with no body when accepted; a 4xx/5xx with `{"code": "FAIL", "message": …}`
otherwise, after which it sends the notification again later. So this view answers in WeChat's protocol
rather than in the API's error envelope.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from distribution.api import throttling
from distribution.security import client_ip
from settlements.providers.wechatpay.client import NotificationError
from settlements.services import transfers

WECHAT_FAIL = inline_serializer(
    "WechatPayNotifyFail", {"code": serializers.CharField(), "message": serializers.CharField()}
)


@extend_schema(tags=["webhooks"])
class WechatPayTransferNotifyApi(APIView):
    """WeChat Pay's MCHTRANSFER.BILL.FINISHED notification for one of the account's transfer bills. The
    signature (Wechatpay-* headers) is checked with the account's platform key and the resource decrypted
    (AEAD_AES_256_GCM, APIv3 key, associated data as sent); a notification received again changes nothing.
    Answers 204 when taken, 401 `FAIL` when it is not WeChat's (WeChat retries a refused notification)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []  # counted in post(): refusals per client address

    @extend_schema(
        summary="WeChat Pay transfer notification",
        request=None,
        responses={204: OpenApiResponse(description="Taken."), 401: WECHAT_FAIL},
    )
    def post(self, request, account_id):
        raw = request._request.body  # the exact bytes WeChat signed
        try:
            transfers.transfer_notification_receive(account_id=account_id, headers=request.headers, body=raw)
        except NotificationError as exc:
            throttling.enforce("anon", f"ip:{client_ip(request)}")
            return Response({"code": "FAIL", "message": str(exc)[:200]}, status=401)
        return Response(status=204)
