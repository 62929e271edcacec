"""make run's demo data: a merchant with staff, program, products, levels, a three-deep tree and customers."""

import io

import pytest
from django.core.management import call_command

from commissions.models import CommissionLine
from distributors.models import CustomerBinding, Distributor, Level
from merchants.models import Membership, Merchant, MerchantAPIKey
from orders.models import Order, Product

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_demo_and_a_second_run_reuses_it():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = out.getvalue()
    merchant = Merchant.objects.get(slug="demo")
    assert Membership.objects.for_merchant(merchant).count() == 4
    assert Product.objects.for_merchant(merchant).count() == 6
    assert list(Level.objects.for_merchant(merchant).order_by("rank").values_list("rank", "is_default")) == [
        (1, True),
        (2, False),
        (3, False),
    ]
    distributors = Distributor.objects.for_merchant(merchant)
    assert distributors.count() == 7 and set(distributors.values_list("status", flat=True)) == {"active"}
    assert max(distributors.values_list("depth", flat=True)) == 3
    assert CustomerBinding.objects.for_merchant(merchant).filter(status="active").count() == 11
    assert Order.objects.for_merchant(merchant).count() == 11
    assert set(Order.objects.for_merchant(merchant).values_list("attribution", flat=True)) == {"binding"}
    assert CommissionLine.objects.for_merchant(merchant).filter(status="confirmed").count() > 0
    key = first.split("server API key (admin role): ")[1].split()[0]

    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert f"server API key (admin role): {key}" in again.getvalue()
    assert Distributor.objects.for_merchant(merchant).count() == 7
    assert Order.objects.for_merchant(merchant).count() == 11
    assert MerchantAPIKey.objects.for_merchant(merchant).count() == 1
