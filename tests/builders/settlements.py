"""Money-flow builders: completed orders whose commission is due, settled through the real services."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from distribution import crypto
from distribution.auth import Actor
from distributors.models import Distributor
from distributors.services.identity import distributor_identity_submit
from ledger import services as ledger
from merchants.services.programs import program_update
from orders.services import intake
from settlements.models import AlipayAccount, SplitRequest, WechatPayAccount
from settlements.services import payouts, runs, splits, withdrawals
from settlements.services.payout_accounts import payout_account_add
from tests.builders.distributors import VALID_ID
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


def verified(merchant, distributor, *, real_name: str):
    """The distributor with a verified identity (a valid sample ID number)."""
    return distributor_identity_submit(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=distributor.pk,
        real_name=real_name,
        id_type="cn_resident",
        id_number="11010519491231002X",
        verified=True,
    )


def approved_withdrawal(merchant, amount: int = 1000):
    """The seller's settled commission, a verified identity, and a manual withdrawal of `amount`, approved."""
    people = shop_with_due_commission(merchant)
    settle(merchant)
    seller = verified(merchant, people["seller"], real_name="王小波")
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


# One big order: the seller earns 10% of 100,000.00 = 10,000.00.
BIG_ITEM = [{"line_id": "L1", "product": "tea", "quantity": 1, "unit_price": 10_000_000, "discount": 0}]


def labour_seller(merchant):
    """A verified seller with 10,000.00 available, in a program withholding 劳务报酬 (labour remuneration)."""
    people = setup_shop(merchant)
    due_order(merchant, people["seller"].invite_code, "o-1", items=BIG_ITEM)
    settle(merchant)
    program_update(merchant=merchant, actor=ACTOR, changes={"tax_mode": "labour_remuneration"})
    seller = verified(merchant, people["seller"], real_name="王小明")
    bank_card(merchant, seller, real_name="王小明")
    return seller


def pay(merchant, *withdrawals_to_pay):
    """Approve, export and mark paid each of these manual withdrawals."""
    for w in withdrawals_to_pay:
        withdrawals.withdrawal_approve(merchant=merchant, actor=ACTOR, withdrawal_id=w.pk)
    payouts.withdrawals_export(merchant=merchant, actor=ACTOR)
    for w in withdrawals_to_pay:
        payouts.withdrawal_mark(merchant=merchant, actor=ACTOR, withdrawal_id=w.pk, paid=True)


ALIPAY_LOGIN, ALIPAY_NAME = "wang.xiaoming@example.com", "王小明"


def alipay_account(merchant, stub, config):
    """The merchant's Alipay app, pointed at a running Alipay stub (tests/stubs/alipay)."""
    return AlipayAccount.objects.create(
        merchant=merchant,
        app_id=config.app_id,
        app_private_key_encrypted=crypto.encrypt(config.app_private_key_pem),
        alipay_public_key=config.alipay_public_key_pem,
        gateway_url=stub.gateway_url,
    )


def alipay_payee(merchant):
    """A seller with 48.00 available, a verified identity (王小明) and an Alipay login id; the program pays
    withdrawals by Alipay transfer and approves them at once."""
    people = shop_with_due_commission(merchant, orders=2)
    settle(merchant)
    program_update(
        merchant=merchant, actor=ACTOR, changes={"payout_provider": "alipay_transfer", "withdrawal_auto_approve": True}
    )
    seller = people["seller"]
    distributor_identity_submit(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=seller.pk,
        real_name=ALIPAY_NAME,
        id_type="cn_resident",
        id_number=VALID_ID,
        verified=True,
    )
    payout_account_add(
        merchant=merchant,
        actor=ACTOR,
        distributor_id=seller.pk,
        kind="alipay",
        identity=ALIPAY_LOGIN,
        real_name=ALIPAY_NAME,
    )
    return Distributor.objects.for_merchant(merchant).get(pk=seller.pk)


def wechat_account(merchant, config, base_url: str, **fields) -> WechatPayAccount:
    """The merchant's WeChat Pay account for a stub's key set (`tests.stubs.wechatpay.keys.make_key_sets`),
    talking to `base_url`; `fields` set the account's other settings (transfer scene, limits)."""
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


def drive_splits(merchant, passes: int = 6):
    """The reconciler, one pass a minute: every open split is sent or queried until it is final (WeChat's
    splits answer PROCESSING first)."""
    for _ in range(passes):
        open_splits = SplitRequest.objects.for_merchant(merchant).filter(status__in=splits.OPEN)
        if not open_splits.exists():
            return
        open_splits.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        splits.splits_dispatch(merchant_id=merchant.pk)
    raise AssertionError("splits still open")
