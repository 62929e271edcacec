"""Finding 8: a filter on a related id resolves inside the caller's merchant, so another merchant's id is
answered exactly like an id that does not exist (no existence leak through `?distributor=`)."""

import pytest

from distribution.api.filters import FilterBackend
from distributors.models import Distributor
from tests.builders.world import build_world
from tests.helpers import assert_error
from tests.routes import api_routes

pytestmark = pytest.mark.django_db


def _related_filters(route):
    """(name, related model) of every filter of this list view on a related object."""
    view = route.view()
    view.request = None
    backend = FilterBackend()
    filterset_class = backend.get_filterset_class(view, route.view.model.objects.none())
    if filterset_class is None:
        return []
    return [
        (name, f.extra.get("queryset"))
        for name, f in filterset_class.base_filters.items()
        if type(f).__name__ == "ScopedModelChoiceFilter"
    ]


def test_every_related_id_filter_answers_a_foreign_id_like_a_missing_one(api):
    a, b = build_world("alpha"), build_world("beta")
    client = api.staff(a)
    distributor_client = api.distributor(a, external_user_id="alpha-app-user")
    checked = []
    for route in api_routes():
        if route.object_params or "GET" not in route.methods or route.view.model is None:
            continue
        for name, _ in _related_filters(route):
            field = route.view.model._meta.get_field(name)
            related = field.related_model
            own = related.objects.for_merchant(a).order_by("pk").first()
            foreign = related.objects.for_merchant(b).order_by("pk").first()
            assert own is not None and foreign is not None, (route, name)
            missing = max(related.objects.unscoped().values_list("pk", flat=True)) + 1000
            caller = distributor_client if route.is_distributor else client
            assert caller.get(route.url(), {name: own.pk}).status_code == 200, (route, name)
            answers = [caller.get(route.url(), {name: value}) for value in (foreign.pk, missing)]
            errors = [assert_error(answer, 400, "invalid") for answer in answers]
            assert list(errors[0]["fields"]) == [name], (route, name)
            assert errors[0] == errors[1], (route, name)
            checked.append(f"{route} ?{name}")
    assert {"/api/v1/withdrawals ?distributor", "/api/v1/commission-lines ?beneficiary"} <= set(checked), checked
    assert len(checked) >= 8, checked


def test_the_withdrawal_filter_reproduction(api):
    a, b = build_world("alpha"), build_world("beta")
    foreign = Distributor.objects.for_merchant(b).first()
    client = api.staff(a)
    foreign_answer = client.get("/api/v1/withdrawals", {"distributor": foreign.pk})
    missing_answer = client.get("/api/v1/withdrawals", {"distributor": 10**9})
    assert foreign_answer.status_code == missing_answer.status_code == 400
    assert foreign_answer.json() == missing_answer.json()
