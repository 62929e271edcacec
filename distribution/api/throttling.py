from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class PrincipalRateThrottle(SimpleRateThrottle):
    """Rate limit per credential (per client IP before authentication), counted in Redis.

    A view picks its bucket with `throttle_scope` (merchant, distributor, anon, login).
    """

    def __init__(self):  # the scope is known only per request
        pass

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", None) or "anon"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]  # read per request: settings can change

    def get_cache_key(self, request, view):
        principal = getattr(request, "auth", None)
        ident = getattr(principal, "idempotency_scope", None) or self.get_ident(request)
        return f"throttle:{self.scope}:{ident}"
