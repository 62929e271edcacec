from __future__ import annotations

from base64 import b64decode, b64encode
from typing import TYPE_CHECKING, Any
from urllib import parse

from django.core import signing
from rest_framework import pagination
from rest_framework.utils.urls import replace_query_param

from distribution.errors import ValidationFailed
from distribution.inputs import parse_int

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

_signer = signing.Signer(salt="distribution.api.cursor")


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pages, newest first; `limit` picks the page size (1-200). A malformed `limit`
    or `cursor` is a 400, not silently replaced by a default.

    Cursors are signed (HMAC with the secret key): a cursor is opaque to callers, so a hand-made one such as
    base64("p=abc") is refused as `invalid_cursor` instead of reaching the database as a comparison value.
    """

    ordering = "-id"
    cursor_query_description = (
        "An opaque, signed position in the list: take it from the `next` or `previous` link of the page before "
        "(follow the link as given). A cursor made by hand is refused (400 `invalid_cursor`)."
    )
    page_size_query_description = "Items per page, 1-200 (default 50)."
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return parse_int(raw, field="limit", minimum=1, maximum=self.max_page_size, code="invalid_limit")

    def encode_cursor(self, cursor: pagination.Cursor) -> str:
        tokens = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position  # type: ignore[assignment]  # DRF's positions are strings; the stubs say int
        querystring = parse.urlencode(tokens, doseq=True)
        signed = _signer.sign(b64encode(querystring.encode()).decode("ascii"))
        return replace_query_param(self.base_url, self.cursor_query_param, signed)  # type: ignore[arg-type]  # paginate_queryset set base_url

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            querystring = b64decode(_signer.unsign(encoded), validate=True).decode()
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            offset = pagination._positive_int(tokens.get("o", ["0"])[0], cutoff=self.offset_cutoff)
            reverse = tokens.get("r", ["0"])[0] == "1"
            position = tokens.get("p", [None])[0]
        except (signing.BadSignature, TypeError, ValueError):
            raise ValidationFailed(code="invalid_cursor", fields={"cursor": ["Invalid cursor."]}) from None
        return pagination.Cursor(offset=offset, reverse=reverse, position=position)  # type: ignore[arg-type]  # a string, as above

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return params
