"""A merchant with at least one row of every tenant model that an API route can name."""

from __future__ import annotations

from distribution.auth import Actor
from merchants.roles import Role
from merchants.services import program_update
from tests.factories import ProductFactory, make_api_key, make_distributor_token, make_member, make_merchant


def build_world(slug: str):
    merchant = make_merchant(slug)
    make_member(merchant, Role.VIEWER, username=f"{slug}-viewer")
    make_api_key(merchant, name=f"{slug} key")
    make_distributor_token(merchant, external_user_id=f"{slug}-app-user")
    ProductFactory(merchant=merchant, external_id=f"{slug}-sku", title=f"{slug} product")
    program_update(merchant=merchant, actor=Actor.system(slug), changes={"after_sales_days": 9}, reason=slug)
    return merchant
