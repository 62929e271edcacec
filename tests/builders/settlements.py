"""Money-flow builders: completed orders whose commission is due, settled through the real services."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from distribution.auth import Actor
from distributors.models import Distributor
from distributors.services.identity import distributor_identity_submit
from ledger import services as ledger
from orders.services import intake
from settlements.services import runs
from settlements.services.payout_accounts import payout_account_add
from tests.builders.orders import setup_shop

ACTOR = Actor.system("tests")
LONG_AGO = timezone.now().replace(microsecond=0) - timedelta(days=40)
# The standard order: tea 2 × 100.00 − 10.00 and a cup at 50.00. With the program's 10% / 5%, the seller
# earns 19.00 + 5.00 = 24.00 and the seller's inviter 9.50 + 2.50 = 12.00.
ITEMS = [
    {"line_id": "L1", "product": "tea", "quantity": 2, "unit_price": 10000, "discount": 1000},
    {"line_id": "L2", "product": "cup", "quantity": 1, "unit_price": 5000, "discount": 0},
]
SELLER_EARNS, INVITER_EARNS = 2400, 1200


def due_order(merchant, share_code: str, external_id: str, *, completed: bool = True, paid_at=None, **extra):
    """A paid order completed a day after payment, 39 days ago: its lines are due by now."""
    paid_at = paid_at or LONG_AGO
    data = {
        "external_id": external_id,
        "customer_external_id": f"c-{external_id}",
        "share_code": share_code,
        "paid_at": paid_at,
        "shipping_amount": 0,
        "items": [dict(i) for i in ITEMS],
        **extra,
    }
    order = intake.order_ingest_paid(merchant=merchant, data=data, source="api").order
    if completed:
        intake.order_apply_event(
            merchant=merchant,
            external_id=external_id,
            type_="completed",
            source="api",
            data={"occurred_at": paid_at + timedelta(days=1)},
        )
    return order


def shop_with_due_commission(merchant, orders: int = 1):
    people = setup_shop(merchant)
    for n in range(orders):
        due_order(merchant, people["seller"].invite_code, f"o-{n + 1}")
    return people


def settle(merchant, **kwargs):
    run = runs.settlement_request(merchant=merchant, actor=ACTOR, as_of=kwargs.pop("as_of", None))
    return runs.settlement_execute(run.pk, **kwargs) or run


def balances(merchant, distributor) -> dict[str, int]:
    return ledger.distributor_balances(merchant.pk, distributor.pk, merchant.currency)


def approved_withdrawal(merchant, amount: int = 1000):
    """The seller's settled commission, a verified identity, and a manual withdrawal of `amount`, approved."""
    from settlements.services import withdrawals

    people = shop_with_due_commission(merchant)
    settle(merchant)
    seller = distributor_identity_submit(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=people["seller"].pk,
        real_name="王小波",
        id_type="cn_resident",
        id_number="11010519491231002X",
        verified=True,
    )
    bank_card(merchant, seller)
    withdrawal = withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=amount)
    return withdrawals.withdrawal_approve(merchant=merchant, actor=ACTOR, withdrawal_id=withdrawal.pk)


CARD = "6222021234567890123"


def bank_card(merchant, distributor, real_name: str = "王小波", card: str = CARD, **extra):
    """A verified bank card for the distributor (the manual rail pays to one). Without a verified identity the
    distributor gets one first, in the card's name."""
    distributor = Distributor.objects.for_merchant(merchant).get(pk=distributor.pk)
    if not distributor.identity_verified:
        distributor_identity_submit(
            merchant=merchant,
            actor=ACTOR,
            distributor_id=distributor.pk,
            real_name=real_name,
            id_type="cn_resident",
            id_number="11010519491231002X",
            verified=True,
        )
    fields = {"bank_name": "中国工商银行", "bank_branch": "北京西单支行", **extra}
    return payout_account_add(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=distributor.pk,
        kind="bank_card",
        identity=card,
        real_name=real_name,
        **fields,
    )
