"""Error codes of order intake."""

from distribution.errors import ApplicationError, Conflict, NotFound, Unprocessable


class UnknownProduct(Unprocessable):
    code = "unknown_product"
    default_message = "The order names products this merchant has not synced."


class AmountMismatch(Unprocessable):
    code = "amount_mismatch"
    default_message = "An item's paid amount is not quantity × unit price − discount."


class CurrencyMismatch(Unprocessable):
    code = "currency_mismatch"
    default_message = "The order's currency is not the merchant's."


class OrderConflict(Conflict):
    code = "order_conflict"
    default_message = "An order with this external id exists with different content."


class EventIdReused(Conflict):
    code = "event_id_reused"
    default_message = "This event id was already used for a different event."


class UnknownOrder(Conflict):
    """For webhooks: the order may simply not have arrived yet, so the sender should retry later."""

    code = "unknown_order"
    default_message = "No order with this external id (yet)."


class InvalidEventTime(Unprocessable):
    code = "invalid_event_time"
    default_message = "The event happened before the order was paid."


class RefundExceedsPaid(Unprocessable):
    code = "refund_exceeds_paid"
    default_message = "The refund is larger than what remains refundable."


class InvalidRefund(Unprocessable):
    code = "invalid_refund"
    default_message = "The refund names unknown order lines or no amount."


class InvalidSignature(ApplicationError):
    status_code = 401
    code = "invalid_signature"
    default_message = "The signature does not match this endpoint's secret."


class SignatureExpired(ApplicationError):
    status_code = 401
    code = "signature_expired"
    default_message = "The signature's timestamp is more than 5 minutes from now."


class NoWebhookEndpoint(NotFound):
    code = "no_webhook_endpoint"
    default_message = "This merchant has no webhook endpoint yet: create it with POST /api/v1/webhook-endpoint."


class WebhookEndpointExists(Conflict):
    code = "webhook_endpoint_exists"
    default_message = (
        "The webhook endpoint exists; its secret was shown when it was created. "
        "For a new secret use POST /api/v1/webhook-endpoint/rotate-secret."
    )
