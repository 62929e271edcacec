from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from distribution import rls
from distribution.api import parsers, throttling
from distribution.api.validation import validate
from distribution.api.views import ListMixin, MerchantApi
from distribution.errors import NotFound, ValidationFailed
from distribution.security import client_ip
from distributors.api.views.base import MyApi
from merchants.errors import MerchantSuspended
from merchants.roles import Perm
from orders import selectors
from orders.api import serializers as s
from orders.errors import InvalidSignature, SignatureExpired, UnknownOrder
from orders.filters import OrderFilter
from orders.inputs import OrderPaidInput
from orders.models import Order, OrderEvent, WebhookEndpoint
from orders.services import intake, webhooks


# --- orders ------------------------------------------------------------------------------------------------
def order_detail_data(order: Order, context: dict) -> dict:
    """The order as stored now, with its items and commission lines (see `selectors.order_with_lines`)."""
    return s.OrderDetailOutput(selectors.order_with_lines(order.merchant_id, order.pk), context=context).data


def ingest_data(result: intake.IngestResult, context: dict) -> dict:
    """The answer to an order event. A new order is answered from what intake just wrote (the body
    `order_detail_data` would read back); anything else is read from the database."""
    if result.duplicate or result.items is None or result.lines is None:
        return {"duplicate": result.duplicate, "order": order_detail_data(result.order, context)}
    lines = sorted(result.lines, key=lambda line: (line.order_item_id, line.depth, line.kind))
    body = s.order_detail_body(result.order, result.items, lines, currency=context["currency"])
    return {"duplicate": False, "order": body}


@extend_schema(tags=["orders"])
class OrderListApi(ListMixin, MerchantApi):
    """Orders, newest first. POST reports a paid order (idempotent by `external_id` and event id): it is
    attributed (share code, else the customer's binding) and its commission lines are made."""

    model = Order
    serializer_class = s.OrderOutput
    filterset_class = OrderFilter
    required_permissions = {"POST": Perm.ORDERS_MANAGE}

    def scope_queryset(self, queryset):
        return queryset.select_related("distributor")

    @extend_schema(
        request=OrderPaidInput,
        responses={200: s.IngestOutput, 201: s.IngestOutput},
        examples=[
            OpenApiExample(
                "A teapot, bought by a bound customer",
                request_only=True,
                value={
                    "external_id": "o-1001",
                    "customer_external_id": "c-1001",
                    "paid_at": "2026-12-03T10:00:00Z",
                    "items": [{"line_id": "1", "product": "pot-1", "quantity": 1, "unit_price": "360.00"}],
                },
            )
        ],
    )
    def post(self, request):
        data = dict(self.validate_input(OrderPaidInput))
        event_id = data.pop("event_id", None)
        result = intake.order_ingest_paid(
            merchant=self.merchant, data=data, source=OrderEvent.Source.API, event_id=event_id
        )
        return Response(ingest_data(result, self.get_serializer_context()), status=200 if result.duplicate else 201)


@extend_schema(tags=["orders"])
class OrderDetailApi(MerchantApi):
    """An order with its items and its commission breakdown (each line explains its rate)."""

    model = Order
    lookup_field = "external_id"

    @extend_schema(responses={200: s.OrderDetailOutput})
    def get(self, request, external_id):
        return Response(order_detail_data(self.get_object(), self.get_serializer_context()))


@extend_schema(tags=["orders"])
class OrderEventApi(MerchantApi):
    """Report what happened to an order: shipped, completed, refunded (per item or per amount) or closed.
    A repeated event id changes nothing; an impossible event is refused (409/422) and writes nothing."""

    model = Order
    lookup_field = "external_id"
    required_permissions = {"POST": Perm.ORDERS_MANAGE}

    @extend_schema(
        request=s.OrderEventInput,
        responses={200: s.IngestOutput, 201: s.IngestOutput},
        examples=[
            OpenApiExample("Completed", request_only=True, value={"type": "completed"}),
            OpenApiExample(
                "Refunded by amount",
                request_only=True,
                value={"type": "refunded", "refund_id": "r-1", "amount": "360.00"},
            ),
        ],
    )
    def post(self, request, external_id):
        order = self.get_object()
        data = dict(self.validate_input(s.OrderEventInput))
        type_ = data.pop("type")
        event_id = data.pop("event_id", None)
        result = intake.order_apply_event(
            merchant=self.merchant,
            external_id=order.external_id,
            type_=type_,
            data=data,
            source=OrderEvent.Source.API,
            event_id=event_id,
        )
        body = {"duplicate": result.duplicate, "order": order_detail_data(result.order, self.get_serializer_context())}
        return Response(body, status=200 if result.duplicate else 201)


def _endpoint_body(request, endpoint) -> dict:
    return {
        "url": request.build_absolute_uri(f"/api/v1/webhooks/orders/{endpoint.public_id}"),
        "public_id": endpoint.public_id,
        "signature_header": webhooks.HEADER,
        "rotated_at": endpoint.rotated_at,
        "previous_secret_valid_until": endpoint.previous_valid_until,
    }


@extend_schema(tags=["orders"])
class WebhookEndpointApi(MerchantApi):
    """Where the shop sends signed order events. POST creates it and answers its signing secret, once
    (it is kept encrypted, and no later answer shows it); GET shows the URL."""

    required_permissions = {"GET": Perm.PROGRAM_MANAGE, "POST": Perm.PROGRAM_MANAGE}

    @extend_schema(summary="The webhook endpoint", responses={200: s.WebhookEndpointOutput})
    def get(self, request):
        return Response(_endpoint_body(request, webhooks.endpoint_of(self.merchant)))

    @extend_schema(summary="Create the webhook endpoint", request=None, responses={201: s.WebhookSecretOutput})
    def post(self, request):
        endpoint, secret = webhooks.webhook_endpoint_create(merchant=self.merchant, actor=self.actor)
        return Response(s.WebhookSecretOutput({**_endpoint_body(request, endpoint), "secret": secret}).data, status=201)


@extend_schema(tags=["orders"])
class WebhookSecretRotateApi(MerchantApi):
    """A new signing secret (shown once); the previous one stays valid for 24 hours."""

    required_permissions = {"POST": Perm.PROGRAM_MANAGE}

    @extend_schema(request=None, responses={200: s.WebhookSecretOutput})
    def post(self, request):
        endpoint, secret = webhooks.webhook_secret_rotate(merchant=self.merchant, actor=self.actor)
        return Response(s.WebhookSecretOutput({**_endpoint_body(request, endpoint), "secret": secret}).data)


WEBHOOK_TYPES = {
    "order.paid": "paid",
    "order.shipped": "shipped",
    "order.completed": "completed",
    "order.refunded": "refunded",
    "order.closed": "closed",
}


@extend_schema(
    tags=["webhooks"],
    auth=[],
    parameters=[
        OpenApiParameter(
            webhooks.HEADER,
            str,
            OpenApiParameter.HEADER,
            required=True,
            description="t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>",
        )
    ],
)
class OrderWebhookApi(APIView):
    """Inbound order events from the merchant's shop, signed with the endpoint's secret.

        Body: `{"id": "<event id>", "type": "order.paid|order.shipped|order.completed|order.refunded|order.closed",
        "data": {...}}` where `data` is the body of `POST /api/v1/orders` (paid) or of
        `POST /api/v1/orders/{external_id}/events` plus `"order": "<external_id>"`. An id delivered again
        with the same body is acknowledged (200, `duplicate: true`); the same id with a different body is a 409
        `event_id_reused`. A malformed event (no `data.order`, an unknown or invalid field) is a 400 whose fields
    are named `data.<field>`: sending it again cannot help. An event for an order not received yet is a 409
    `unknown_order`: it may succeed once the order arrives, so retry it.
    """

    authentication_classes: list = []
    permission_classes: list = []
    # Counted in post(): signed deliveries per endpoint (THROTTLE_RATE_WEBHOOK, sized for a busy shop), and
    # refused signatures per client address (the anonymous rate), so forgeries cannot use up a shop's budget.
    throttle_classes: list = []

    @extend_schema(request=s.WebhookEnvelope, responses={200: s.WebhookAck})
    def post(self, request, public_id):
        raw = request._request.body  # the exact bytes that were signed
        with rls.bypass():  # the endpoint names the merchant
            endpoint = WebhookEndpoint.objects.unscoped().select_related("merchant").filter(public_id=public_id).first()
        try:
            if endpoint is None:
                raise InvalidSignature()
            webhooks.verify(endpoint, request.headers.get(webhooks.HEADER), raw)
        except (InvalidSignature, SignatureExpired):
            throttling.enforce("anon", f"ip:{client_ip(request)}")
            raise
        throttling.enforce("webhook", f"endpoint:{endpoint.pk}")
        rls.use_merchant(endpoint.merchant_id)
        merchant = endpoint.merchant
        if not merchant.is_active:
            raise MerchantSuspended()
        payload = parsers.loads(raw)
        context = {"merchant": merchant, "currency": merchant.currency}
        envelope = validate(s.WebhookEnvelope, payload, context=context)
        kind, event_id = WEBHOOK_TYPES[envelope["type"]], envelope["id"]
        data = dict(envelope["data"])
        if kind == "paid":
            paid = validate_data(OrderPaidInput, data, context=context)
            fields = {k: v for k, v in paid.items() if k != "event_id"}
            result = intake.order_ingest_paid(
                merchant=merchant, data=fields, source=OrderEvent.Source.WEBHOOK, event_id=event_id
            )
        else:
            external_id = data.pop("order", None)
            if not isinstance(external_id, str) or not external_id:
                raise ValidationFailed(fields={"data.order": ["Required: the external id of the order."]})
            event = validate_data(s.OrderEventInput, {**data, "type": kind}, context=context)
            fields = {k: v for k, v in event.items() if k not in ("type", "event_id")}
            try:
                result = intake.order_apply_event(
                    merchant=merchant,
                    external_id=external_id,
                    type_=kind,
                    data=fields,
                    source=OrderEvent.Source.WEBHOOK,
                    event_id=event_id,
                )
            except NotFound:
                raise UnknownOrder() from None
        return Response(
            {
                "received": True,
                "duplicate": result.duplicate,
                "order": result.order.external_id,
                "status": result.order.status,
            }
        )


def validate_data(serializer_class, data: dict, *, context: dict) -> dict:
    """An envelope's `data`, validated: a refusal names its fields as `data.<field>`."""
    try:
        return validate(serializer_class, data, context=context)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, code=exc.code, fields=_under_data(exc.fields)) from None
    except ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        raise ValidationFailed(fields=_under_data(detail)) from None


def _under_data(fields: dict) -> dict:
    return {f"data.{name}": errors for name, errors in fields.items()}


@extend_schema(tags=["distributor API"])
class MyOrderListApi(ListMixin, MyApi):
    """Orders I brought (attributed to me), newest first, customers masked."""

    model = Order
    serializer_class = s.MyOrderOutput
    filterset_fields = ["status"]

    def scope_queryset(self, queryset):
        return queryset.filter(distributor=self.me()).prefetch_related("items__product", "items__category")
