"""Category sync: a tree upserted by external id, parents by external id, refusals that write nothing,
deletion as archiving."""

import pytest

from catalog.models import Category
from distribution.models import AuditEvent
from merchants.roles import Role
from tests.builders.factories import CategoryFactory, ProductFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

TREE = {
    "categories": [
        {"external_id": "fresh", "name": "鲜肉", "parent": "meat", "sort_order": 1},
        {"external_id": "frozen", "name": "冷冻", "parent": "meat", "sort_order": 2},
        {"external_id": "meat", "name": "肉类"},
        {"external_id": "gift", "name": "礼盒", "parent": None, "sort_order": 5},
    ]
}


def tree(merchant):
    """{external id: (name, parent's external id, sort order, archived)} as stored."""
    return {
        c.external_id: (c.name, c.parent.external_id if c.parent else None, c.sort_order, c.archived_at is not None)
        for c in Category.objects.for_merchant(merchant).select_related("parent")
    }


@pytest.fixture
def client(api, merchant):
    return api.api_key(merchant, Role.OPERATOR)


@pytest.fixture
def synced(client, merchant):
    response = client.post("/api/v1/categories", TREE, format="json")
    assert response.status_code == 201, response.content
    return response


def test_a_tree_is_created_in_one_request_children_before_their_parent(synced, merchant):
    results = synced.json()["results"]
    assert [(r["created"], r["category"]["external_id"], r["category"]["parent"]) for r in results] == [
        (True, "fresh", "meat"),
        (True, "frozen", "meat"),
        (True, "meat", None),
        (True, "gift", None),
    ]
    assert set(results[0]["category"]) == {
        "id",
        "external_id",
        "name",
        "parent",
        "sort_order",
        "archived_at",
        "created_at",
        "updated_at",
    }
    assert tree(merchant) == {
        "meat": ("肉类", None, 0, False),
        "fresh": ("鲜肉", "meat", 1, False),
        "frozen": ("冷冻", "meat", 2, False),
        "gift": ("礼盒", None, 5, False),
    }


def test_the_same_tree_again_writes_nothing(synced, client, merchant):
    stamps = dict(Category.objects.for_merchant(merchant).values_list("external_id", "updated_at"))
    again = client.post("/api/v1/categories", TREE, format="json")
    assert again.status_code == 200
    assert [r["created"] for r in again.json()["results"]] == [False, False, False, False]
    assert dict(Category.objects.for_merchant(merchant).values_list("external_id", "updated_at")) == stamps
    assert AuditEvent.objects.for_merchant(merchant).filter(action__startswith="category.").count() == 0


def test_moving_a_category_and_renaming_one_in_a_single_category_body(synced, client, merchant):
    moved = client.post(
        "/api/v1/categories", {"external_id": "frozen", "name": "冷冻肉", "parent": "gift"}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["results"][0]["category"]["parent"] == "gift"
    assert tree(merchant)["frozen"] == ("冷冻肉", "gift", 0, False)
    event = AuditEvent.objects.for_merchant(merchant).get(action="category.moved")
    assert event.changes == {"parent": ["meat", "gift"]}
    # left out, the parent is none: the category moves to the top
    client.post("/api/v1/categories", {"external_id": "frozen", "name": "冷冻肉"}, format="json")
    assert tree(merchant)["frozen"] == ("冷冻肉", None, 0, False)


@pytest.mark.parametrize(
    ("body", "loop"),
    [
        ({"external_id": "meat", "name": "肉类", "parent": "fresh"}, ["meat", "fresh", "meat"]),
        ({"external_id": "meat", "name": "肉类", "parent": "meat"}, ["meat", "meat"]),
        (
            {
                "categories": [
                    {"external_id": "a", "name": "A", "parent": "b"},
                    {"external_id": "b", "name": "B", "parent": "c"},
                    {"external_id": "c", "name": "C", "parent": "a"},
                ]
            },
            ["a", "b", "c", "a"],
        ),
        (  # a new category put between two that exist, and the old parent moved under it
            {
                "categories": [
                    {"external_id": "x", "name": "X", "parent": "fresh"},
                    {"external_id": "meat", "name": "肉类", "parent": "x"},
                ]
            },
            ["meat", "x", "fresh", "meat"],
        ),
    ],
)
def test_a_cycle_is_refused_and_nothing_is_written(synced, client, merchant, body, loop):
    before = tree(merchant)
    error = assert_error(client.post("/api/v1/categories", body, format="json"), 422, "category_cycle")
    assert error["cycle"] == loop
    assert error["fields"] == {"parent": ["Each category's parent, in a loop: " + " → ".join(loop)]}
    assert tree(merchant) == before


def test_an_unknown_parent_is_refused_and_nothing_is_written(synced, client, merchant):
    body = {
        "categories": [
            {"external_id": "new", "name": "New", "parent": "meat"},
            {"external_id": "frozen", "name": "冷冻", "parent": "gift"},
            {"external_id": "lost", "name": "Lost", "parent": "nowhere"},
        ]
    }
    before = tree(merchant)
    error = assert_error(client.post("/api/v1/categories", body, format="json"), 422, "unknown_category")
    assert error["categories"] == ["nowhere"]
    assert error["fields"] == {"parent": ["Unknown category: nowhere"]}
    assert tree(merchant) == before


def test_another_merchants_category_is_not_a_parent(client, merchant, other_merchant):
    CategoryFactory(merchant=other_merchant, external_id="theirs")
    body = {"external_id": "mine", "name": "Mine", "parent": "theirs"}
    assert_error(client.post("/api/v1/categories", body, format="json"), 422, "unknown_category")
    assert tree(merchant) == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "a"}, "name"),
        ({"external_id": "a", "name": "x" * 101}, "name"),
        ({"external_id": "a" * 65, "name": "A"}, "external_id"),
        ({"external_id": "a", "name": "A", "sort_order": 1.5}, "sort_order"),
        ({"external_id": "a", "name": "A", "parent": ""}, "parent"),
        ({"categories": []}, "categories"),
        ({"categories": [{"external_id": f"c{i}", "name": "C"} for i in range(501)]}, "categories"),
    ],
)
def test_invalid_categories_are_refused(client, merchant, body, field):
    error = assert_error(client.post("/api/v1/categories", body, format="json"), 400)
    assert field in str(error["fields"]), error
    assert tree(merchant) == {}


def test_list_filters_and_get_one(synced, api, merchant):
    viewer = api.staff(merchant, Role.VIEWER)

    def ids(query=""):
        return sorted(c["external_id"] for c in viewer.get(f"/api/v1/categories?{query}").json()["results"])

    assert ids() == ["fresh", "frozen", "gift", "meat"]
    assert ids("parent=meat") == ["fresh", "frozen"]
    one = viewer.get("/api/v1/categories/fresh").json()
    assert (one["name"], one["parent"], one["sort_order"], one["archived_at"]) == ("鲜肉", "meat", 1, None)
    assert_error(viewer.get("/api/v1/categories/nothing"), 404, "not_found")
    assert_error(viewer.post("/api/v1/categories", TREE, format="json"), 403, "permission_denied")


def test_delete_archives_and_is_refused_while_in_use(synced, client, merchant):
    ProductFactory(
        merchant=merchant, external_id="pork", category=Category.objects.for_merchant(merchant).get(external_id="fresh")
    )
    error = assert_error(client.delete("/api/v1/categories/meat"), 409, "category_in_use")
    assert (error["products"], error["subcategories"]) == (0, 2)
    error = assert_error(client.delete("/api/v1/categories/fresh"), 409, "category_in_use")
    assert (error["products"], error["subcategories"]) == (1, 0)
    assert tree(merchant)["fresh"] == ("鲜肉", "meat", 1, False)

    assert client.delete("/api/v1/categories/frozen").status_code == 204
    assert client.delete("/api/v1/categories/frozen").status_code == 204  # again: nothing changes
    assert tree(merchant)["frozen"] == ("冷冻", "meat", 2, True)
    assert AuditEvent.objects.for_merchant(merchant).filter(action="category.archived").count() == 1
    listed = [c["external_id"] for c in client.get("/api/v1/categories").json()["results"]]
    assert sorted(listed) == ["fresh", "gift", "meat"]
    archived = client.get("/api/v1/categories?archived=true").json()["results"]
    assert [c["external_id"] for c in archived] == ["frozen"] and archived[0]["archived_at"] is not None
    assert client.get("/api/v1/categories/frozen").json()["archived_at"] is not None

    # an archived category is no parent until the shop syncs it again, which brings it back
    body = {"external_id": "ice", "name": "冰鲜", "parent": "frozen"}
    assert_error(client.post("/api/v1/categories", body, format="json"), 422, "unknown_category")
    revived = client.post("/api/v1/categories", {"categories": [TREE["categories"][1], body]}, format="json")
    assert revived.status_code == 201, revived.content
    assert tree(merchant)["frozen"] == ("冷冻", "meat", 2, False) and tree(merchant)["ice"] == (
        "冰鲜",
        "frozen",
        0,
        False,
    )
    assert AuditEvent.objects.for_merchant(merchant).filter(action="category.restored").count() == 1


def test_viewers_cannot_delete_and_another_merchants_category_is_404(synced, api, merchant, other_merchant):
    assert_error(api.staff(merchant, Role.VIEWER).delete("/api/v1/categories/gift"), 403, "permission_denied")
    assert_error(api.api_key(other_merchant, Role.OPERATOR).delete("/api/v1/categories/gift"), 404, "not_found")
    assert tree(merchant)["gift"] == ("礼盒", None, 5, False)
