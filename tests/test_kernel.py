"""Kernel pieces on their own: scoped related fields, state machines, the audit trail, the admin."""

import pytest
from django.apps import apps
from django.contrib import admin
from rest_framework import serializers
from rest_framework.test import APIClient

from catalog.models import Product
from distribution.api.fields import TenantRelatedField
from distribution.audit import audit_record
from distribution.auth import Actor
from distribution.errors import InvalidTransition, NotFound
from distribution.models import AuditEvent
from distribution.state import StateMachine
from merchants.models import Membership, Merchant
from tests.builders.factories import ProductFactory, UserFactory
from tests.helpers import login_request, project_apps

pytestmark = pytest.mark.django_db


class PickProduct(serializers.Serializer):
    product = TenantRelatedField(model=Product, slug_field="external_id")
    by_id = TenantRelatedField(model=Product, required=False)


def test_related_ids_resolve_only_inside_the_callers_merchant(merchant, other_merchant):
    mine = ProductFactory(merchant=merchant, external_id="mine")
    theirs = ProductFactory(merchant=other_merchant, external_id="theirs")
    ok = PickProduct(data={"product": "mine", "by_id": mine.pk}, context={"merchant": merchant})
    assert ok.is_valid(), ok.errors
    assert ok.validated_data == {"product": mine, "by_id": mine}

    foreign = PickProduct(data={"product": "theirs", "by_id": theirs.pk}, context={"merchant": merchant})
    assert not foreign.is_valid()
    missing = PickProduct(data={"product": "nope", "by_id": 10**12}, context={"merchant": merchant})
    assert not missing.is_valid()
    # "not yours" and "does not exist" are the same answer
    assert foreign.errors == missing.errors == {"product": ["No such object."], "by_id": ["No such object."]}
    bad_type = PickProduct(data={"product": ["x"], "by_id": {"a": 1}}, context={"merchant": merchant})
    assert not bad_type.is_valid()
    assert bad_type.errors == {"product": ["Incorrect type."], "by_id": ["Incorrect type."]}


LIGHT = StateMachine("light", {"red": {"green"}, "green": {"amber"}, "amber": {"red"}}, field="kind")


def test_state_machine_moves_only_along_declared_transitions(merchant):
    product = ProductFactory(merchant=merchant, kind="red")
    scoped = Product.objects.for_merchant(merchant)
    LIGHT.apply(scoped, product.pk, "green")
    assert scoped.get(pk=product.pk).kind == "green"
    with pytest.raises(InvalidTransition) as exc:
        LIGHT.apply(scoped, product.pk, "red")
    assert exc.value.status_code == 409
    assert exc.value.extra == {"current_status": "green", "target_status": "red"}
    assert scoped.get(pk=product.pk).kind == "green"
    with pytest.raises(NotFound):
        LIGHT.apply(Product.objects.for_merchant(merchant.pk + 999), product.pk, "amber")
    assert LIGHT.sources("red") == ["amber"] and LIGHT.can("amber", "red") and not LIGHT.can("red", "amber")


def test_audit_events_are_immutable(merchant):
    event = audit_record(merchant=merchant, actor=Actor.system(), action="x.y", object_type="t", object_id=1)
    event.reason = "rewritten"
    with pytest.raises(ValueError, match="immutable"):
        event.save()
    assert AuditEvent.objects.for_merchant(merchant).get(pk=event.pk).reason == ""


def test_every_model_is_in_the_admin_and_its_pages_render(merchant):
    our_apps = {app.rsplit(".", 1)[-1] for app in project_apps()}
    assert {"catalog", "ledger", "tiers", "risk"} <= our_apps  # every app, from INSTALLED_APPS
    ProductFactory(merchant=merchant)
    UserFactory(username="root", is_staff=True, is_superuser=True)
    client = APIClient()
    client.login(request=login_request(), username="root", password="correct horse battery")
    for model in apps.get_models():
        if model._meta.app_label not in our_apps:
            continue
        assert admin.site.is_registered(model), f"{model._meta.label} is not in the admin"
        opts = model._meta
        changelist = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert client.get(changelist).status_code == 200, changelist
        assert client.get(changelist + "?q=a").status_code == 200, changelist
        obj = model._default_manager.first()
        if obj is not None:
            assert client.get(f"{changelist}{obj.pk}/change/").status_code == 200, changelist
    assert client.get("/admin/merchants/merchant/add/").status_code == 200


def test_operators_create_a_merchant_with_its_owner_and_program_in_the_admin(db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    UserFactory(username="boss")
    client = APIClient()
    client.login(request=login_request(), username="root", password="correct horse battery")
    response = client.post(
        "/admin/merchants/merchant/add/",
        {
            "name": "New Shop",
            "slug": "new-shop",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "owner_username": "boss",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    merchant = Merchant.objects.get(slug="new-shop")
    assert merchant.program.commission_depth == 2
    assert Membership.objects.for_merchant(merchant).get().user.username == "boss"
    assert AuditEvent.objects.for_merchant(merchant).get(action="merchant.created").actor_kind == "operator"
