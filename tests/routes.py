"""The API's routes, read from the URL configuration, so that tests cover every endpoint that exists
(a new endpoint is covered without a new test)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from distribution.api.views import DistributorApi, MerchantApi

# Route parameters that do not name an object (the object comes from the view's model and lookup).
# Values rather than objects: a month; the WeChat Pay account a notification is for (refused without that
# account's platform signature, whichever account the id names).
EXTRA_PARAMS = {"month": "2026-11", "account_id": "1"}
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "/api/v1/products/<str:external_id>"
    name: str
    view: type

    @property
    def params(self) -> list[str]:
        return [m.group("name") for m in _PARAM.finditer(self.route)]

    @property
    def object_params(self) -> list[str]:
        """The parameters that name an object (not a month or other value)."""
        return [p for p in self.params if p not in EXTRA_PARAMS]

    @property
    def methods(self) -> list[str]:
        return [
            m.upper() for m in self.view.http_method_names if m not in ("options", "head") and hasattr(self.view, m)
        ]

    @property
    def is_merchant(self) -> bool:
        return issubclass(self.view, MerchantApi)

    @property
    def is_distributor(self) -> bool:
        return issubclass(self.view, DistributorApi)

    def url(self, **values) -> str:
        values = {**EXTRA_PARAMS, **values}
        return _PARAM.sub(lambda m: str(values[m.group("name")]), self.route)

    def __str__(self) -> str:
        return self.route


def _walk(patterns, prefix: str):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            yield prefix + str(pattern.pattern), pattern.name, view


def api_routes() -> list[Route]:
    routes = []
    for route, name, view in _walk(get_resolver().url_patterns, "/"):
        if route.startswith("/api/v1/") and view is not None:
            routes.append(Route(route=route, name=name, view=view))
    return routes


def object_for(route: Route, merchant):
    """The merchant's object that this route's URL names (the view's own queryset and lookup field)."""
    view = route.view
    model = view.queryset.model
    obj = model.objects.for_merchant(merchant).order_by("-pk").first()
    assert obj is not None, f"no {model.__name__} of {merchant} for {route}"
    return {view.lookup_url_kwarg or view.lookup_field: getattr(obj, view.lookup_field)}
