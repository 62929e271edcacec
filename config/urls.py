from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from analytics.api.urls import distributor_urlpatterns as analytics_distributor_urls
from commissions.api.urls import distributor_urlpatterns as commission_distributor_urls
from distribution import health, pages
from distribution.api.schema_view import SchemaView
from distributors.api.urls import distributor_urlpatterns
from orders.api.urls import distributor_urlpatterns as order_distributor_urls
from settlements.api.urls import distributor_urlpatterns as settlement_distributor_urls

api_v1 = [
    path("", include("merchants.api.urls")),
    path("", include("distributors.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("commissions.api.urls")),
    path("", include("settlements.api.urls")),
    path("", include("tiers.api.urls")),
    path("", include("risk.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("exports.api.urls")),
    path("distributor/", include(distributor_urlpatterns)),
    path("distributor/", include(commission_distributor_urls)),
    path("distributor/", include(order_distributor_urls)),
    path("distributor/", include(settlement_distributor_urls)),
    path("distributor/", include(analytics_distributor_urls)),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/platform/v1/", include("merchants.api.platform_urls")),
    path("", pages.home, name="home"),
    path("api/schema", SchemaView.as_view(), name="schema"),
    # the split view serves its start-up script as a file, so the page needs no inline script (CSP)
    path("api/docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc",
        SpectacularRedocView.as_view(url_name="schema", template_name="distribution/redoc.html"),
        name="redoc",
    ),
    path("api/auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

handler400 = "distribution.api.errors.json_400"
handler403 = "distribution.api.errors.json_403"
handler404 = "distribution.api.errors.json_404"
handler500 = "distribution.api.errors.json_500"
