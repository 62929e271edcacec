"""Product sync: upsert by external id, validation of commission overrides, filters."""

import pytest
from django.utils import timezone

from catalog.models import Product
from distribution.models import AuditEvent
from merchants.roles import Role
from tests.builders.factories import CategoryFactory, ProductFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

TEA = {"external_id": "tea-1", "title": "Longjing", "price": "168.00"}


def test_upsert_creates_then_updates_then_leaves_alone(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    created = client.post("/api/v1/products", TEA, format="json")
    assert created.status_code == 201
    result = created.json()["results"][0]
    assert result["created"] is True
    assert result["product"]["price"] == "168.00" and result["product"]["kind"] == "physical"
    product = Product.objects.for_merchant(merchant).get()
    assert product.price == 16800
    stamp = product.updated_at

    same = client.post("/api/v1/products", TEA, format="json")
    assert same.status_code == 200 and same.json()["results"][0]["created"] is False
    assert Product.objects.for_merchant(merchant).get().updated_at == stamp  # not even written

    changed = client.post("/api/v1/products", {**TEA, "title": "Longjing 2026"}, format="json")
    assert changed.status_code == 200
    assert Product.objects.for_merchant(merchant).get().title == "Longjing 2026"


def test_batch_upsert_answers_in_input_order(api, merchant):
    ProductFactory(merchant=merchant, external_id="b", title="old b")
    client = api.api_key(merchant, Role.OPERATOR)
    body = {
        "products": [
            {"external_id": "c", "title": "C", "price": "1.00"},
            {"external_id": "b", "title": "B", "price": "2.00"},
            {"external_id": "a", "title": "A", "price": "3.00", "kind": "virtual"},
        ]
    }
    response = client.post("/api/v1/products", body, format="json")
    assert response.status_code == 201
    results = response.json()["results"]
    assert [(r["product"]["external_id"], r["created"]) for r in results] == [("c", True), ("b", False), ("a", True)]
    assert dict(Product.objects.for_merchant(merchant).values_list("external_id", "price")) == {
        "a": 300,
        "b": 200,
        "c": 100,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TEA, "price": "-1.00"}, "price"),
        ({**TEA, "price": 1.5e300}, "price"),
        ({**TEA, "price": "12.345"}, "price"),
        ({**TEA, "kind": "bundle"}, "kind"),
        ({**TEA, "commission_rates": [{"depth": 1, "rate_bps": 100}]}, "mode"),
        ({**TEA, "commission_rates": [{"depth": 1, "mode": "percent", "rate_bps": 10001}]}, "rate_bps"),
        ({**TEA, "commission_rates": [{"depth": 1, "mode": "percent", "amount": "1.00"}]}, "rate_bps"),
        ({**TEA, "commission_rates": [{"depth": 1, "mode": "percent", "rate_bps": 100, "amount": "1.00"}]}, "amount"),
        ({**TEA, "commission_rates": [{"depth": 1, "mode": "fixed", "amount": 500}]}, "amount"),
        ({**TEA, "commission_rates": [{"depth": 1, "mode": "fixed", "rate_bps": 500}]}, "amount"),
        ({**TEA, "commission_rates": [{"depth": 2, "mode": "fixed", "amount": "168.01"}]}, "exceed the price"),
        ({**TEA, "commission_rates": [{"depth": 4, "mode": "percent", "rate_bps": 100}]}, "depth"),
        (
            {**TEA, "commission_rates": [{"depth": 1, "mode": "percent", "rate_bps": 1}] * 2},
            "Each depth at most once",
        ),
        ({**TEA, "external_id": "x" * 65}, "external_id"),
        ({"title": "no id", "price": "1.00"}, "external_id"),
    ],
)
def test_invalid_products_are_refused(api, merchant, body, field):
    client = api.api_key(merchant, Role.OPERATOR)
    error = assert_error(client.post("/api/v1/products", body, format="json"), 400)
    assert field in str(error["fields"]), error
    assert Product.objects.for_merchant(merchant).count() == 0


def test_a_batch_with_one_bad_product_writes_none(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    body = {"products": [TEA, {**TEA, "external_id": "bad", "price": "-5"}]}
    assert_error(client.post("/api/v1/products", body, format="json"), 400, "invalid")
    assert Product.objects.for_merchant(merchant).count() == 0


def test_batches_are_limited_to_500(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    body = {"products": [{**TEA, "external_id": f"p{i}"} for i in range(501)]}
    assert_error(client.post("/api/v1/products", body, format="json"), 400, "invalid")
    assert Product.objects.for_merchant(merchant).count() == 0


def test_commission_override_changes_are_audited(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    client.post("/api/v1/products", TEA, format="json")
    rates = [{"depth": 1, "mode": "percent", "rate_bps": 1500}]
    client.post("/api/v1/products", {**TEA, "commission_rates": rates}, format="json")
    event = AuditEvent.objects.for_merchant(merchant).get(action="product.commission_changed")
    assert event.changes == {"commission_depth1_mode": [None, "percent"], "commission_depth1": [None, 1500]}
    product = Product.objects.for_merchant(merchant).get()
    assert product.commission_override(1) == ("percent", 1500)
    assert product.commission_override(2) is None


def test_each_depth_has_its_own_mode_and_a_sync_without_rates_keeps_them(api, merchant):
    client = api.api_key(merchant, Role.OPERATOR)
    rates = [{"depth": 2, "mode": "percent", "rate_bps": 400}, {"depth": 1, "mode": "fixed", "amount": "5.00"}]
    response = client.post("/api/v1/products", {**TEA, "commission_rates": rates}, format="json")
    shown = [
        {"depth": 1, "mode": "fixed", "rate_bps": None, "amount": "5.00"},
        {"depth": 2, "mode": "percent", "rate_bps": 400, "amount": None},
    ]
    assert response.status_code == 201 and response.json()["results"][0]["product"]["commission_rates"] == shown
    product = Product.objects.for_merchant(merchant).get()
    assert (product.commission_override(1), product.commission_override(2)) == (("fixed", 500), ("percent", 400))
    # the shop's next sync of title and price leaves the merchant's overrides alone; [] removes them
    client.post("/api/v1/products", {**TEA, "title": "Longjing 250g"}, format="json")
    assert client.get("/api/v1/products/tea-1").json()["commission_rates"] == shown
    client.post("/api/v1/products", {**TEA, "commission_rates": []}, format="json")
    assert client.get("/api/v1/products/tea-1").json()["commission_rates"] == []


def test_list_filters_and_search(api, merchant):
    ProductFactory(merchant=merchant, external_id="tea-1", title="Green tea", kind="physical")
    ProductFactory(merchant=merchant, external_id="class-1", title="Tea class", kind="virtual")
    ProductFactory(merchant=merchant, external_id="cup-1", title="Cup", distribution_enabled=False)
    client = api.staff(merchant, Role.VIEWER)

    def ids(query):
        return sorted(p["external_id"] for p in client.get(f"/api/v1/products?{query}").json()["results"])

    assert ids("kind=virtual") == ["class-1"]
    assert ids("q=tea") == ["class-1", "tea-1"]
    assert ids("distribution_enabled=false") == ["cup-1"]
    assert_error(client.get("/api/v1/products?kind=bundle"), 400)


def test_cursor_pagination_walks_every_product_once(api, merchant):
    for i in range(7):
        ProductFactory(merchant=merchant, external_id=f"p{i}")
    client = api.staff(merchant, Role.VIEWER)
    seen, url = [], "/api/v1/products?limit=3"
    while url:
        page = client.get(url).json()
        seen += [p["external_id"] for p in page["results"]]
        url = page["next"]
    assert seen == [f"p{i}" for i in reversed(range(7))]


def test_viewers_cannot_sync_products(api, merchant):
    assert_error(api.staff(merchant, Role.VIEWER).post("/api/v1/products", TEA, format="json"), 403)


def test_a_product_is_put_in_a_category_moved_kept_and_cleared(api, merchant):
    CategoryFactory(merchant=merchant, external_id="green", name="绿茶")
    CategoryFactory(merchant=merchant, external_id="oolong", name="乌龙茶")
    client = api.api_key(merchant, Role.OPERATOR)

    def category():
        return Product.objects.for_merchant(merchant).get().category.external_id

    created = client.post("/api/v1/products", {**TEA, "category": "green"}, format="json")
    assert created.status_code == 201 and created.json()["results"][0]["product"]["category"] == "green"
    assert category() == "green"
    moved = client.post("/api/v1/products", {**TEA, "category": "oolong"}, format="json")
    assert moved.status_code == 200 and moved.json()["results"][0]["product"]["category"] == "oolong"
    client.post("/api/v1/products", {**TEA, "title": "Longjing 250g"}, format="json")  # left out: kept
    assert category() == "oolong"
    assert client.get("/api/v1/products/tea-1").json()["category"] == "oolong"
    assert client.post("/api/v1/products", {**TEA, "category": None}, format="json").status_code == 200
    assert Product.objects.for_merchant(merchant).get().category is None
    assert client.get("/api/v1/products/tea-1").json()["category"] is None
    assert list(
        AuditEvent.objects.for_merchant(merchant)
        .filter(action="product.category_changed")
        .order_by("pk")
        .values_list("changes", flat=True)
    ) == [{"category": ["green", "oolong"]}, {"category": ["oolong", None]}]


def test_an_unknown_or_deleted_category_refuses_the_whole_batch(api, merchant, other_merchant):
    CategoryFactory(merchant=merchant, external_id="green")
    CategoryFactory(merchant=merchant, external_id="gone", archived_at=timezone.now())
    CategoryFactory(merchant=other_merchant, external_id="theirs")
    ProductFactory(merchant=merchant, external_id="old", title="Old")
    client = api.api_key(merchant, Role.OPERATOR)
    body = {
        "products": [
            {**TEA, "category": "green"},
            {"external_id": "old", "title": "Old", "price": "1.00", "category": "green"},
            {"external_id": "x", "title": "X", "price": "1.00", "category": "gone"},
            {"external_id": "y", "title": "Y", "price": "1.00", "category": "theirs"},
        ]
    }
    error = assert_error(client.post("/api/v1/products", body, format="json"), 422, "unknown_category")
    assert error["categories"] == ["gone", "theirs"]
    assert error["fields"] == {"category": ["Unknown category: gone", "Unknown category: theirs"]}
    assert list(Product.objects.for_merchant(merchant).values_list("external_id", "category")) == [("old", None)]


def test_products_filter_by_category(api, merchant):
    green = CategoryFactory(merchant=merchant, external_id="green")
    ProductFactory(merchant=merchant, external_id="tea-1", category=green)
    ProductFactory(merchant=merchant, external_id="cup-1")
    client = api.staff(merchant, Role.VIEWER)
    assert [p["external_id"] for p in client.get("/api/v1/products?category=green").json()["results"]] == ["tea-1"]
