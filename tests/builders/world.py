"""A merchant with at least one row of every tenant model that an API route can name."""

from __future__ import annotations

from datetime import timedelta

from django.test import TestCase
from django.utils import timezone

from distribution.auth import Actor
from distributors.models import Application, Distributor, Level
from distributors.services import applications, bindings, blacklist, levels, lifecycle, recruitment
from exports.kinds import DISTRIBUTORS
from exports.models import ExportJob
from exports.services import export_request
from merchants.roles import Role
from merchants.services.programs import program_update
from merchants.services.staff import invitation_create
from orders.services import intake, webhooks
from risk.models import RiskFlag
from settlements.services import payout_accounts, payouts, runs, withdrawals
from tests.builders.factories import (
    CategoryFactory,
    ProductFactory,
    make_api_key,
    make_distributor_token,
    make_member,
    make_merchant,
)
from tests.builders.settlements import bank_card
from tiers.models import TierRun


def build_world(slug: str):
    with TestCase.captureOnCommitCallbacks(execute=True):  # the tasks queued after commit run too
        merchant = _build(slug)
    assert TierRun.objects.for_merchant(merchant).exists() and RiskFlag.objects.for_merchant(merchant).exists()
    assert ExportJob.objects.for_merchant(merchant).get().status == ExportJob.Status.COMPLETED
    return merchant


def _build(slug: str):
    merchant = make_merchant(slug)
    actor = Actor.system(slug)
    make_member(merchant, Role.VIEWER, username=f"{slug}-viewer")
    make_api_key(merchant, name=f"{slug} key")
    invitation_create(
        merchant=merchant, actor=actor, actor_role=Role.OWNER, role=Role.VIEWER, email=f"invitee@{slug}.example.com"
    )
    make_distributor_token(merchant, external_user_id=f"{slug}-app-user")
    product = ProductFactory(merchant=merchant, external_id=f"{slug}-sku", title=f"{slug} product")
    CategoryFactory(merchant=merchant, external_id=f"{slug}-category", name=f"{slug} category")
    program_update(merchant=merchant, actor=actor, changes={"after_sales_days": 9}, reason=slug)
    levels.level_create(merchant=merchant, actor=actor, data={"name": f"{slug} bronze", "rank": 1})
    recruitment.entry_create(
        merchant=merchant, actor=actor, name=f"{slug} product entry", kind="product", product=product
    )
    top = applications.application_submit(
        merchant=merchant,
        actor=actor,
        external_user_id=f"{slug}-app-user",
        channel=Application.Channel.SERVER,
        display_name=f"{slug} top",
    ).distributor
    applications.application_submit(
        merchant=merchant,
        actor=actor,
        external_user_id=f"{slug}-recruit",
        channel=Application.Channel.SERVER,
        display_name=f"{slug} recruit",
        invite_code=top.invite_code,
        phone="13800000001",
    )
    bindings.binding_record_visit(
        merchant=merchant,
        customer_external_id=f"{slug}-customer",
        share_code=top.invite_code,
        visited_at=timezone.now() - timedelta(days=41),
    )
    # the same phone again: the application's risk check raises a flag (risk flags, their review)
    applications.application_submit(
        merchant=merchant,
        actor=actor,
        external_user_id=f"{slug}-twin",
        channel=Application.Channel.SERVER,
        display_name=f"{slug} twin",
        invite_code=top.invite_code,
        phone="13800000001",
    )
    blacklist.blacklist_add(merchant=merchant, actor=actor, kind="phone", value="13900000009", reason=f"{slug} fraud")
    recruitment.agreement_publish(merchant=merchant, actor=actor, version="1", title=f"{slug} agreement", body="…")
    order = intake.order_ingest_paid(
        merchant=merchant,
        source="api",
        data={
            "external_id": f"{slug}-order",
            "customer_external_id": f"{slug}-customer",
            "paid_at": timezone.now() - timedelta(days=40),
            "items": [
                {"line_id": "1", "product": product.external_id, "quantity": 2, "unit_price": 5000, "discount": 0}
            ],
        },
    ).order
    intake.order_apply_event(
        merchant=merchant,
        external_id=order.external_id,
        type_="refunded",
        source="api",
        data={"refund_id": f"{slug}-refund", "amount": 1000},
    )
    webhooks.webhook_endpoint_create(merchant=merchant, actor=Actor.system(slug))
    # money: complete the order, settle it, withdraw part of it
    intake.order_apply_event(
        merchant=merchant,
        external_id=order.external_id,
        type_="completed",
        source="api",
        data={"occurred_at": timezone.now() - timedelta(days=30)},
    )
    run = runs.settlement_request(merchant=merchant, actor=actor)
    runs.settlement_execute(run.pk)
    program_update(merchant=merchant, actor=actor, changes={"withdrawal_requires_real_name": False})
    seller = Distributor.objects.for_merchant(merchant).get(external_user_id=f"{slug}-app-user")
    # a bank card (and the identity it is checked against), and a WeChat openid for the recruit
    bank_card(merchant, seller, real_name=f"{slug} 王")
    recruit = Distributor.objects.for_merchant(merchant).get(external_user_id=f"{slug}-recruit")
    payout_accounts.wechat_openid_set(merchant=merchant, actor=actor, distributor_id=recruit.pk, openid=f"o-{slug}")
    # one withdrawal approved and exported in a payout batch, then one waiting for approval (the newest)
    exported = withdrawals.withdrawal_request(merchant=merchant, actor=actor, distributor=seller, amount=100)
    withdrawals.withdrawal_approve(merchant=merchant, actor=actor, withdrawal_id=exported.pk)
    payouts.withdrawals_export(merchant=merchant, actor=actor)
    withdrawals.withdrawal_request(merchant=merchant, actor=actor, distributor=seller, amount=100)
    # levels: a manual change (level history); the settlement run above requested a tier run
    bronze = Level.objects.for_merchant(merchant).get(name=f"{slug} bronze")
    lifecycle.distributor_set_level(
        merchant=merchant, actor=actor, distributor_id=seller.pk, level_id=bronze.pk, lock=False, reason=slug
    )
    # an export job (written by the worker after commit): its file has the merchant's distributors
    export_request(merchant=merchant, actor=actor, kind=DISTRIBUTORS, file_format="csv", filters={}, rows=3)
    return merchant
