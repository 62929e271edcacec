"""The operators' admin: every page of every registered model renders on a real world of data, amounts
read `336.00 CNY`, and the names say what each thing is."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.builders.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only-1")
    client.force_login(user)
    return client


def test_every_changelist_and_change_page_renders_with_money_as_amounts(operator_client):
    """Tenant models' managers say `unscoped()` for a cross-merchant read, as the admin (a platform view) does."""
    build_world("alpha")
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = operator_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert changelist.status_code == 200, meta.label
        shown = [f for f in getattr(model_admin, "money_fields", ()) if f in model_admin.list_display]
        if shown and model._default_manager.unscoped().exclude(**{shown[0]: None}).exists():
            assert re.search(r"-?\d+\.\d\d CNY", changelist.content.decode()), meta.label
            assert not re.search(rf"<td class=\"field-{shown[0]}\">-?\d+</td>", changelist.content.decode())
        manager = model._default_manager
        obj = manager.unscoped().first() if hasattr(manager, "unscoped") else manager.first()
        if obj is not None:
            page = operator_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
            assert page.status_code == 200, meta.label


def test_names_and_header(operator_client):
    html = operator_client.get(reverse("admin:index")).content.decode()
    assert "Distribution backend 在线分销 · platform admin" in html
    for name in (
        "Staff tokens",
        "Merchant API keys",
        "Platform API keys",
        "Distributor tokens",
        "Recruitment entries",
        "Payout batches",
    ):
        assert name in html, name
    assert "API keys</a>" not in html.replace("Merchant API keys</a>", "").replace("Platform API keys</a>", "")
    assert "entrys" not in html and "batchs" not in html


def test_an_order_shows_its_amounts_with_the_currency(operator_client):
    from orders.models import Order

    build_world("alpha")
    order = Order.objects.unscoped().first()
    html = operator_client.get(reverse("admin:orders_order_changelist")).content.decode()
    amount = f"{order.goods_amount // 100}.{order.goods_amount % 100:02d} CNY"
    assert amount in html


def test_adding_a_merchant_in_the_admin_invites_its_owner_in_the_same_step(operator_client):
    from merchants.models import Invitation, Merchant

    url = reverse("admin:merchants_merchant_add")
    form = {"name": "Tea Garden", "slug": "tea-garden", "currency": "CNY", "timezone": "Asia/Shanghai"}
    refused = operator_client.post(url, form)
    assert refused.status_code == 200 and "one of the two" in refused.content.decode()
    assert not Merchant.objects.filter(slug="tea-garden").exists()
    response = operator_client.post(url, {**form, "owner_email": "boss@example.com"}, follow=True)
    assert response.status_code == 200
    merchant = Merchant.objects.get(slug="tea-garden")
    invitation = Invitation.objects.for_merchant(merchant).get()
    assert (invitation.role, invitation.email) == ("owner", "boss@example.com")
    assert "Send this invitation token to boss@example.com" in response.content.decode()


def test_an_alipay_app_is_entered_with_its_key_stored_encrypted_and_never_shown(operator_client):
    from distribution import crypto
    from settlements.models import AlipayAccount
    from tests.builders.factories import make_merchant
    from tests.stubs.alipay.server import make_alipay_keys

    merchant = make_merchant("alpha")
    config, _ = make_alipay_keys()
    url = reverse("admin:settlements_alipayaccount_add")
    form = {"for_merchant": merchant.pk, "app_id": config.app_id, "alipay_public_key": config.alipay_public_key_pem}
    form["gateway_url"] = "https://openapi.alipay.com/gateway.do"
    refused = operator_client.post(url, form)
    assert refused.status_code == 200 and not AlipayAccount.objects.unscoped().exists()  # the key is required
    operator_client.post(url, {**form, "app_private_key": config.app_private_key_pem})
    account = AlipayAccount.objects.for_merchant(merchant).get()
    assert crypto.decrypt(account.app_private_key_encrypted) == config.app_private_key_pem.strip()
    change = reverse("admin:settlements_alipayaccount_change", args=[account.pk])
    page = operator_client.get(change).content.decode()
    assert "PRIVATE KEY" not in page and account.app_private_key_encrypted not in page
    operator_client.post(change, {**form, "app_id": "2021000000000002", "app_private_key": ""})
    account.refresh_from_db()
    assert account.app_id == "2021000000000002"
    assert crypto.decrypt(account.app_private_key_encrypted) == config.app_private_key_pem.strip()  # kept
