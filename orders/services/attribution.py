"""Who brought an order: the order's share code, else the customer's active binding, else no one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from distributors.errors import (
    BindingProtected,
    CustomerBoundElsewhere,
    DistributorNotActive,
    InvalidShareCode,
    SelfBindingNotAllowed,
)
from distributors.models import CustomerBinding, Distributor
from distributors.services.bindings import binding_record_visit, live_bindings
from merchants.models import DistributionProgram, Merchant
from orders.models import Order

# A refused binding never refuses the order: the customer paid; only the binding stays as it was.
BINDING_REFUSALS = (BindingProtected, CustomerBoundElsewhere, DistributorNotActive, SelfBindingNotAllowed)


@dataclass(frozen=True)
class Attribution:
    distributor: Distributor | None
    source: str
    self_purchase: bool


def attribute(
    *,
    merchant: Merchant,
    customer_external_id: str,
    share_code: str,
    paid_at: datetime,
    program: DistributionProgram | None = None,
) -> Attribution:
    """`program`, when the caller has read it, spares the binding a second read."""
    distributor, source = None, Order.Attribution.NONE
    if share_code:
        distributor = Distributor.objects.for_merchant(merchant).filter(invite_code=share_code.strip().upper()).first()
        if distributor is not None:
            source = Order.Attribution.SHARE_CODE
            try:
                binding_record_visit(
                    merchant=merchant,
                    customer_external_id=customer_external_id,
                    share_code=distributor.invite_code,
                    visited_at=paid_at,
                    source=CustomerBinding.Source.ORDER,
                    distributor=distributor,
                    program=program,
                )
            except (*BINDING_REFUSALS, InvalidShareCode):
                pass
    if distributor is None:
        binding = (
            live_bindings(merchant, paid_at)
            .filter(customer_external_id=customer_external_id)
            .select_related("distributor")
            .first()
        )
        if binding is not None:
            distributor, source = binding.distributor, Order.Attribution.BINDING
    self_purchase = distributor is not None and distributor.external_user_id == customer_external_id
    return Attribution(distributor=distributor, source=source, self_purchase=self_purchase)
