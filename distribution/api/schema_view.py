"""The view that serves the OpenAPI schema (apart from the schema generation it uses: no import cycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.views import SpectacularAPIView

if TYPE_CHECKING:
    from rest_framework.renderers import BaseRenderer
    from rest_framework.request import Request


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: YAML, or JSON with `?format=json` (or `Accept: application/json`)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        wanted = request.query_params.get("format")
        if wanted in ("json", "yaml"):
            renderer = next(r() for r in self.renderer_classes if r.format == wanted)
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)
