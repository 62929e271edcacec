"""Money-flow builders: completed orders whose commission is due, settled through the real services."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from distribution import crypto
from distribution.auth import Actor
from ledger import services as ledger
from orders.services import intake
from settlements.models import WechatPayAccount
from settlements.services import runs
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
    from distributors.services.identity import distributor_identity_submit
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
    withdrawal = withdrawals.withdrawal_request(merchant=merchant, actor=ACTOR, distributor=seller, amount=amount)
    return withdrawals.withdrawal_approve(merchant=merchant, actor=ACTOR, withdrawal_id=withdrawal.pk)


def wechatpay_account(merchant, config, base_url: str, **fields) -> WechatPayAccount:
    """The merchant's WeChat Pay account with the stub's key set (`config`), talking to `base_url`."""
    return WechatPayAccount.objects.create(
        merchant=merchant,
        mchid=config.mchid,
        appid=config.appid,
        merchant_serial_no=config.merchant_serial_no,
        private_key_encrypted=crypto.encrypt(config.private_key_pem),
        platform_serial_no=config.platform_serial_no,
        platform_public_key=config.platform_public_key_pem,
        apiv3_key_encrypted=crypto.encrypt(config.apiv3_key),
        base_url=base_url,
        **fields,
    )
