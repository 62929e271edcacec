from __future__ import annotations

from django.db import models
from django.db.models import Q

from distribution.state import StateMachine
from distribution.tenancy import TenantModel


class CommissionLine(TenantModel):
    """One beneficiary's commission on one order item at one depth (佣金明细).

    `amount` is what the line earned when the order was paid (frozen from then on); `reversed_amount`
    is how much of it refunds took back before settlement. A refund after settlement adds to a separate
    clawback line (kind `clawback`, negative amount). Every line explains itself: the base, the rate
    and where the rate came from.
    """

    class Kind(models.TextChoices):
        COMMISSION = "commission"
        CLAWBACK = "clawback"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (order open)"
        CONFIRMED = "confirmed", "Confirmed (order completed; waiting for the after-sales window)"
        SETTLED = "settled"
        REVERSED = "reversed", "Reversed (refunded before settlement)"

    class RateSource(models.TextChoices):
        PRODUCT = "product_override"
        LEVEL = "level"
        PROGRAM = "program_default"
        REFUND = "refund", "Refund after settlement"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="commission_lines", db_index=False)
    order_item = models.ForeignKey(
        "orders.OrderItem", on_delete=models.PROTECT, related_name="commission_lines", db_index=False
    )
    beneficiary = models.ForeignKey(
        "distributors.Distributor", on_delete=models.PROTECT, related_name="commission_lines", db_index=False
    )
    depth = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COMMISSION)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    currency = models.CharField(max_length=3)
    base_amount = models.BigIntegerField(help_text="The item's paid amount after discounts, without shipping.")
    rate_source = models.CharField(max_length=20, choices=RateSource.choices)
    rate_mode = models.CharField(max_length=8, help_text="percent (basis points) or fixed (minor units per unit)")
    rate_value = models.BigIntegerField()
    uncapped_amount = models.BigIntegerField()
    amount = models.BigIntegerField(help_text="Earned at payment, after the cap; negative for a clawback.")
    reversed_amount = models.BigIntegerField(default=0)
    unlock_at = models.DateTimeField(null=True, blank=True, help_text="When it may settle (completion + after-sales).")
    settlement_run = models.ForeignKey(
        "settlements.SettlementRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        db_index=False,
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "order_item", "depth", "beneficiary", "kind"], name="commissionline_unique"
            ),
            models.CheckConstraint(condition=Q(depth__gte=1, depth__lte=3), name="commissionline_depth_1_to_3"),
            models.CheckConstraint(
                condition=(
                    Q(kind="commission", amount__gte=0, reversed_amount__gte=0, reversed_amount__lte=models.F("amount"))
                    | Q(kind="clawback", amount__lte=0, reversed_amount=0)
                ),
                name="commissionline_amounts_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "order"], name="commissionline_order"),
            models.Index(fields=["merchant", "beneficiary", "status"], name="commissionline_beneficiary"),
            models.Index(
                fields=["merchant", "beneficiary", "unlock_at"],
                name="commissionline_due",
                condition=Q(status="confirmed", kind="commission"),
            ),
        ]

    @property
    def rate_bps(self) -> int | None:
        """The rate in basis points when it is a percent rate."""
        return self.rate_value if self.rate_mode == "percent" else None

    @property
    def rate_amount(self) -> int | None:
        """The amount per unit (minor units) when it is a fixed rate."""
        return self.rate_value if self.rate_mode == "fixed" else None

    def __str__(self) -> str:
        return f"{self.kind} d{self.depth} {self.amount} → {self.beneficiary_id} ({self.status})"

    @property
    def net_amount(self) -> int:
        return self.amount - self.reversed_amount


_S = CommissionLine.Status
# A commission line's life. Partial refunds lower a line without moving it; a refund after settlement
# never moves a settled line back: it makes a clawback line, settled from birth.
LINE_STATES = StateMachine(
    "commission line",
    {
        _S.PENDING: {_S.CONFIRMED, _S.REVERSED},
        _S.CONFIRMED: {_S.SETTLED, _S.REVERSED},
        _S.SETTLED: set(),
        _S.REVERSED: set(),
    },
)
