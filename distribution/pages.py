"""The home page at `/`: where everything is."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "distribution/home.html",
        {
            "docs_url": reverse("swagger-ui"),
            "redoc_url": reverse("redoc"),
            "schema_url": reverse("schema"),
            "admin_url": reverse("admin:index"),
            "healthz_url": reverse("healthz"),
            "readyz_url": reverse("readyz"),
            "version": settings.SPECTACULAR_SETTINGS["VERSION"],
        },
    )
