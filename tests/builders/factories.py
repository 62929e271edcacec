"""Test data builders. Merchants are made through the real service, so they come with a program and
an owner exactly as in production."""

from __future__ import annotations

import itertools

import factory
from django.contrib.auth import get_user_model

from catalog.models import Category, Product
from distribution.auth import Actor
from distributors.services.tokens import distributor_token_issue
from merchants.models import Membership, Merchant
from merchants.roles import Role
from merchants.services import credentials, lifecycle

SYSTEM = Actor.system("tests")
_slugs = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery")


def make_merchant(slug: str | None = None, *, owner=None, **program) -> Merchant:
    slug = slug or f"m{next(_slugs)}"
    owner = owner or UserFactory(username=f"{slug}-owner")
    return lifecycle.merchant_create(name=f"Merchant {slug}", slug=slug, owner=owner, actor=SYSTEM, **program)


def make_member(merchant: Merchant, role: str, username: str | None = None) -> Membership:
    user = UserFactory(username=username or f"{merchant.slug}-{role}")
    membership, _ = Membership.objects.get_or_create(merchant=merchant, user=user, defaults={"role": role})
    return membership


def owner_of(merchant: Merchant) -> Membership:
    return Membership.objects.for_merchant(merchant).filter(role=Role.OWNER).select_related("user").first()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    external_id = factory.Sequence(lambda n: f"cat-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    external_id = factory.Sequence(lambda n: f"sku-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    price = 10000


def make_api_key(merchant: Merchant, role: str = Role.ADMIN, name: str = "test key") -> tuple[object, str]:
    owner = owner_of(merchant)
    return credentials.api_key_create(
        merchant=merchant, actor=SYSTEM, actor_role=Role.OWNER, name=name, role=role, created_by=owner.user
    )


def make_distributor_token(merchant: Merchant, external_user_id: str = "app-user-1", ttl_seconds: int | None = None):
    return distributor_token_issue(
        merchant=merchant, actor=SYSTEM, external_user_id=external_user_id, ttl_seconds=ttl_seconds
    )
