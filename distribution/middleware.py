from __future__ import annotations

from distribution.context import new_request_id, request_id_var


class RequestIdMiddleware:
    """Gives each request an id (the caller's `X-Request-ID` when sane), logs it, returns it."""

    header = "X-Request-ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = new_request_id(request.headers.get(self.header))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[self.header] = request_id
        return response
