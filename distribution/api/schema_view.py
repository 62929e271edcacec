"""The view that serves the OpenAPI schema (apart from the schema generation it uses: no import cycle)."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: YAML, or JSON with `?format=json` (or `Accept: application/json`)."""

    def perform_content_negotiation(self, request, force=False):
        wanted = request.query_params.get("format")
        if wanted in ("json", "yaml"):
            renderer = next(r() for r in self.renderer_classes if r.format == wanted)
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)
