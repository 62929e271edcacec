from rest_framework import pagination
from rest_framework.exceptions import NotFound

from distribution.errors import ValidationFailed


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pages, newest first; `limit` picks the page size (1-200). A malformed `limit`
    or `cursor` is a 400, not silently replaced by a default."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationFailed(
                code="invalid_limit", fields={"limit": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def decode_cursor(self, request):
        if not request.query_params.get(self.cursor_query_param):
            return None
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationFailed(code="invalid_cursor", fields={"cursor": ["Invalid cursor."]}) from None

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return params
