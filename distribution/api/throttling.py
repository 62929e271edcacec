from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from distribution.security import client_ip

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from distribution.auth import Principal

_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    """A client for the cache's Redis, made once per process (making one costs more than the counting)."""
    location = settings.CACHES["default"]["LOCATION"]
    url = location.split(",")[0] if isinstance(location, str) else location[0]  # the primary, as the cache writes
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url)
    return client


def parse_rate(rate: str) -> tuple[int, int]:
    """Requests per period: "6000/min" -> (6000, 60); the period is read from its first letter, as DRF does."""
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def consume(scope: str, ident: str) -> tuple[bool, float]:
    """Count one request in the bucket (scope, ident): (allowed, seconds until the window resets).

    The rate ("6000/min") is DEFAULT_THROTTLE_RATES[scope]. A fixed window per bucket, opened by its first
    request: one counter, created with the window's expiry and incremented in one atomic round trip, so
    concurrent requests are all counted. (Over any window's length, a burst at a window's edge may pass
    up to twice the rate.)
    """
    rate = api_settings.DEFAULT_THROTTLE_RATES[scope]  # read per request: settings can change
    if rate is None:
        return True, 0.0
    limit, duration = parse_rate(rate)  # type: ignore[arg-type]  # a rate is a string; the stubs say a number
    key = cache.make_key(f"throttle:{scope}:{ident}")
    client = _redis()
    pipe = client.pipeline(transaction=True)
    pipe.set(key, 0, ex=duration, nx=True)  # a new window
    pipe.incr(key)
    pipe.pttl(key)
    _, count, ttl_ms = pipe.execute()
    if ttl_ms < 0:  # the window expired between SET and INCR, which made a counter without an expiry
        client.expire(key, duration)
        ttl_ms = duration * 1000
    return count <= limit, ttl_ms / 1000


def enforce(scope: str, ident: str) -> None:
    """`consume`, raising the 429 (with Retry-After) when the bucket is spent: for checks a view makes itself."""
    allowed, retry_after = consume(scope, ident)
    if not allowed:
        raise Throttled(wait=retry_after)


def principal_ident(principal: Principal) -> str:
    """A credential's bucket: always inside its merchant (app user ids and staff ids repeat across merchants)."""
    return f"m{principal.merchant.pk}:{principal.actor.kind}:{principal.actor.id}"


class PrincipalRateThrottle(BaseThrottle):
    """Rate limit per credential (per client address before authentication), counted in Redis.

    A view picks its bucket with `throttle_scope` (merchant, distributor, anon, login); its rate comes from
    DEFAULT_THROTTLE_RATES. Credentials count inside their merchant; anonymous requests by the client address
    that TRUSTED_PROXY_COUNT allows us to believe (distribution.security.client_ip).
    """

    def allow_request(self, request: Request, view: APIView) -> bool:
        scope = getattr(view, "throttle_scope", None) or "anon"
        principal: Any = getattr(request, "auth", None)  # what the authentication set: a Principal has a merchant
        ident = principal_ident(principal) if getattr(principal, "merchant", None) else f"ip:{client_ip(request)}"
        allowed, self.retry_after = consume(scope, ident)
        return allowed

    def wait(self) -> float:
        return self.retry_after
