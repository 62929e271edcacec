"""Findings 1 and 13: numbers the API parses (money, ids, limit, depth, months, times) accept ASCII digits
only, exactly as documented, and every other spelling is a 400 with a field error and nothing written."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from catalog.models import Product
from distributors.services.levels import level_create
from merchants.models import DistributionProgram
from merchants.roles import Role
from orders.models import Order
from tests.builders.distributors import ACTOR, join
from tests.helpers import assert_error
from tiers.models import TierRun

pytestmark = pytest.mark.django_db

BAD_MONEY_STRINGS = [
    "1e3",
    "1_000.00",
    "+12.00",
    " 12.00",
    "12.00 ",
    "１２.００",
    "٢٦",
    "²",
    "12.345",
    "1.",
    ".5",
    "0x10",
]
BAD_MONEY_JSON = ["1E-999999999", "1e3", "12", "12.5", "true", "[]", "{}"]


def post_product(client, price_json: str):
    body = f'{{"external_id": "x", "title": "t", "price": {price_json}}}'
    return client.generic("POST", "/api/v1/products", body, content_type="application/json")


@pytest.mark.parametrize("price", BAD_MONEY_STRINGS)
def test_money_strings_outside_the_pattern_are_refused(api, merchant, price):
    client = api.api_key(merchant, Role.OPERATOR)
    error = assert_error(
        client.post("/api/v1/products", {"external_id": "x", "title": "t", "price": price}, format="json"),
        400,
        "invalid",
    )
    assert list(error["fields"]) == ["price"]
    assert not Product.objects.for_merchant(merchant).exists()


@pytest.mark.parametrize("number", BAD_MONEY_JSON)
def test_money_as_a_json_number_is_refused(api, merchant, number):
    error = assert_error(post_product(api.api_key(merchant, Role.OPERATOR), number), 400, "invalid")
    assert list(error["fields"]) == ["price"]
    assert not Product.objects.for_merchant(merchant).exists()


@pytest.mark.parametrize(("price", "minor"), [('"12.34"', 1234), ('"0"', 0), ('"7.5"', 750), ('"100"', 10000)])
def test_money_in_the_documented_shape_is_accepted(api, merchant, price, minor):
    assert post_product(api.api_key(merchant, Role.OPERATOR), price).status_code == 201
    assert Product.objects.for_merchant(merchant).get().price == minor


def test_the_schema_documents_the_ascii_money_pattern():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    price = schema["components"]["schemas"]["ProductInputRequest"]["properties"]["price"]
    assert price["pattern"] == r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$"


@pytest.mark.parametrize("quantity", ['"１"', '"²"', '" 1"', '"+1"', '"1_0"', "1.0", '"1e1"', "1E-999999999", "true"])
def test_whole_numbers_in_bodies_take_ascii_digits_only(api, merchant, quantity):
    Product.objects.create(merchant=merchant, external_id="tea", title="Tea", price=100)
    body = (
        '{"external_id": "o1", "customer_external_id": "c", "paid_at": "2026-01-01T00:00:00Z", "items": '
        f'[{{"line_id": "1", "product": "tea", "quantity": {quantity}, "unit_price": "1.00"}}]}}'
    )
    response = api.api_key(merchant, Role.OPERATOR).generic(
        "POST", "/api/v1/orders", body, content_type="application/json"
    )
    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]["items"]["0"]) == ["quantity"]
    assert not Order.objects.for_merchant(merchant).exists()


@pytest.mark.parametrize("days", ['"１５"', '"٢"', "15.0", '"15 "'])
def test_model_backed_whole_numbers_are_strict_too(api, merchant, days):
    response = api.staff(merchant).generic(
        "PATCH", "/api/v1/program", f'{{"binding_validity_days": {days}}}', content_type="application/json"
    )
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["binding_validity_days"]
    assert DistributionProgram.objects.for_merchant(merchant).get().binding_validity_days == 15


@pytest.mark.parametrize("limit", ["²", "１", "٢", " 5", "+5", "5.0", "0", "201", "1e1"])
def test_limit_takes_ascii_digits_only(api, merchant, limit):
    error = assert_error(api.staff(merchant).get("/api/v1/products", {"limit": limit}), 400, "invalid_limit")
    assert list(error["fields"]) == ["limit"]


@pytest.mark.parametrize("depth", ["²", "１", "٢", " 1", "+1", "0", "101"])
def test_team_depth_takes_ascii_digits_only(api, merchant, depth):
    d = join(merchant, "top")
    error = assert_error(api.staff(merchant).get(f"/api/v1/distributors/{d.pk}/team", {"depth": depth}), 400)
    assert list(error["fields"]) == ["depth"]


@pytest.mark.parametrize(
    "month", ["20٢٦-12", "２０２６-１２", "2026-13", "2026-00", "1999-12", "2026-1", "2026-12 ", "²026-12"]
)
def test_statement_months_are_ascii_yyyy_mm(api, merchant, month):
    d = join(merchant, "top")
    response = api.staff(merchant).get(f"/api/v1/distributors/{d.pk}/statements/{month}")
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["month"]
    mine = api.distributor(merchant, external_user_id="top").get(f"/api/v1/distributor/statements/{month}")
    assert list(assert_error(mine, 400, "invalid")["fields"]) == ["month"]


def test_a_good_month_still_answers(api, merchant):
    d = join(merchant, "top")
    assert api.staff(merchant).get(f"/api/v1/distributors/{d.pk}/statements/2026-11").status_code == 200


@pytest.mark.parametrize(
    "as_of", ["7606-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "٢٠٢٦-01-01T00:00:00Z", "1999-12-31T00:00:00Z"]
)
def test_a_tier_run_refuses_an_as_of_in_the_future_or_out_of_range(api, merchant, as_of):
    before = TierRun.objects.for_merchant(merchant).count()
    response = api.staff(merchant).post("/api/v1/tier-runs", {"as_of": as_of}, format="json")
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["as_of"]
    assert TierRun.objects.for_merchant(merchant).count() == before


@pytest.mark.parametrize("when", ["٢٠٢٦-01-01T00:00:00Z", "２０２６-01-01T00:00:00Z"])
def test_times_in_filters_take_ascii_digits_only(api, merchant, when):
    error = assert_error(api.staff(merchant).get("/api/v1/orders", {"paid_after": when}), 400, "invalid")
    assert list(error["fields"]) == ["paid_after"]


@pytest.mark.parametrize("value", ["１", "²", " 1", "1.5", "1e0"])
def test_numeric_and_related_id_filters_take_ascii_digits_only(api, merchant, value):
    level = level_create(merchant=merchant, actor=ACTOR, data={"name": "bronze", "rank": 1})
    d = join(merchant, "top")
    staff = api.staff(merchant)
    assert staff.get("/api/v1/distributors", {"level": level.pk}).status_code == 200
    for name in ("depth", "level", "inviter"):
        error = assert_error(staff.get("/api/v1/distributors", {name: value}), 400, "invalid")
        assert list(error["fields"]) == [name], name
    assert d.depth == 0
