"""Hand-made hostile requests, sent to every route of the URL configuration (tests/routes.api_routes) and
the login pages: the ones generated cases reach only by luck or not at all. Raw 10,000-deep and 3 MB
bodies, every body field at once set to one hostile value (nested objects and arrays included), NUL and
`²` in each path parameter, garbage cursors, raw header bytes, malformed webhook signatures, and
correctly signed webhook deliveries carrying all of the above.

A probe of a route in the OpenAPI schema goes through schemathesis (`harness.send`), so its answer gets
every check; a probe of anything else (a path that no longer matches a route, the HTML login pages) is
checked for a 5xx only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from tests.fuzz import harness
from tests.fuzz import strategies as hs
from tests.fuzz.harness import CREDENTIAL_KINDS, SIGN_ME, SIGNATURE_HEADER, FuzzWorld, Outcome
from tests.routes import api_routes

RAW_HEADERS = "raw-header-bytes"
LOGIN_PAGES = ("/api/auth/login/", "/admin/login/")
WEBHOOKS = "/api/v1/webhooks/"
WEBHOOK_DATA = {"$ref": "#/components/schemas/OrderPaidInputRequest"}  # what `data` of an order.paid carries
# One value for every field of a body at once (kind, value).
FIELD_VALUES = [
    (hs.NUMBER_FORMS, hs.RawJson("1E-999999999", hs.NUMBER_FORMS)),
    (hs.NUMBER_FORMS, hs.RawJson("1e400", hs.NUMBER_FORMS)),
    (hs.NUMBER_FORMS, "9" * 5000),
    (hs.UNICODE_DIGITS, "²"),
    (hs.UNICODE_DIGITS, "１２.００"),
    (hs.CONTROL, "a\x00b"),
    (hs.CONTROL, "\ud800"),
    (hs.FORMULA, hs.FORMULA_EXAMPLES[0]),
]
PARAM_VALUES = [(hs.CONTROL, "a\x00b"), (hs.CONTROL, "a\x01b"), (hs.UNICODE_DIGITS, "²"), (hs.UNICODE_DIGITS, "١٢")]
QUERY_VALUES = [(hs.UNICODE_DIGITS, "²"), (hs.UNICODE_DIGITS, "１２"), (hs.CONTROL, "a\x00b"), (hs.NUMBER_FORMS, "1e3")]
ODD_HEADERS = {
    "Idempotency-Key": "\xb2\xff",
    "Accept-Language": "\xb2",
    "X-Forwarded-For": "\xb2, 1.2.3.4",
    "X-Request-Id": "\xb2" * 300,
    SIGNATURE_HEADER: "t=\xb2",
}
ODD_CREDENTIALS = [
    {"Authorization": "Bearer \xb2\xff"},
    {"Authorization": "Bearer " + "a" * 4000},  # under gunicorn's 8190-byte limit for a header
    {"Authorization": "Basic \xb2"},
    {"X-Api-Key": "\xb2.\xff"},
]
CONTENT_TYPES = [
    "application/json; charset=\xb2",
    "application/json; charset=utf-16",
    "application/json; charset=utf-7",
]


@dataclass(frozen=True)
class Target:
    """A route: its path with `{}` for each parameter, its parameter names and methods."""

    route: str
    shape: str
    params: tuple[str, ...]
    methods: tuple[str, ...]

    def __str__(self) -> str:
        return self.route


def targets() -> list[Target]:
    found = [Target(r.route, harness.schema_template(r.route), tuple(r.params), tuple(r.methods)) for r in api_routes()]
    return found + [Target(page, page, (), ("GET", "POST")) for page in LOGIN_PAGES]


@dataclass
class Probe:
    input_kind: str
    method: str
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    form: dict[str, str] | None = None  # a login form (sent with the page's CSRF token)
    raw_path: str | None = None  # a path that is no route of the schema
    kinds: tuple[str, ...] = CREDENTIAL_KINDS


def probes(target: Target, world: FuzzWorld, operations: dict) -> list[Probe]:
    """Every hostile request for `target`, each method, with the world's real objects in the path (so
    that the request reaches the code behind the route) unless a parameter is the hostile part."""
    if target.route in LOGIN_PAGES:
        return _login_probes(target)
    real = dict(zip(target.params, world.path_values.get(target.shape, []), strict=False))
    # the webhook's probes are signed (over the exact bytes sent) unless the signature is what is tested
    signed = {SIGNATURE_HEADER: SIGN_ME} if target.route.startswith(WEBHOOKS) else {}
    found = []
    for method in target.methods:
        for input_kind, parts in _hostile_parts(target, method, operations.get((method, target.shape))):
            headers = {**signed, **parts.pop("headers", {})}
            if parts.get("body") is not None:
                headers.setdefault("Content-Type", "application/json")
            params = {**real, **parts.pop("params", {})}
            found.append(Probe(input_kind, method, params=params, headers=headers, **parts))
    return found


def _hostile_parts(target: Target, method: str, operation) -> Iterator[tuple[str, dict]]:
    if method in ("POST", "PUT", "PATCH"):
        for raw in (*hs.DEEP_VALUES, *hs.OVERSIZE_VALUES):
            yield raw.kind, {"body": raw.text.encode()}
        body_schema = _body_schema(operation)
        if body_schema is not None:
            raw_schema = operation.schema.raw_schema
            for input_kind, value in FIELD_VALUES:
                filled = _filled(body_schema, value, raw_schema)
                if target.route.startswith(WEBHOOKS):
                    filled = {"id": "fuzz-evt", "type": "order.paid", "data": _filled(WEBHOOK_DATA, value, raw_schema)}
                yield input_kind, {"body": hs.dumps(filled)}
        for content_type in CONTENT_TYPES:
            yield RAW_HEADERS, {"body": b'{"a": "\xc3\xa9"}', "headers": {"Content-Type": content_type}}
    for name in target.params:
        for input_kind, value in PARAM_VALUES:
            yield input_kind, {"params": {name: value}}
    if not target.params:
        yield hs.CONTROL, {"raw_path": target.route + "%00"}
    query_names = [p.name for p in operation.query] if operation is not None else []
    if "cursor" in query_names:
        for cursor in hs.CURSOR_EXAMPLES[:8]:
            yield hs.CURSOR, {"query": {"cursor": cursor}}
    others = [name for name in query_names if name != "cursor"]
    if others:
        for input_kind, value in QUERY_VALUES:
            yield input_kind, {"query": dict.fromkeys(others, value)}
    yield RAW_HEADERS, {"headers": ODD_HEADERS, "body": b"{}" if method != "GET" else None}
    for credential in ODD_CREDENTIALS:
        yield RAW_HEADERS, {"headers": credential, "kinds": ("none",)}
    if target.route.startswith(WEBHOOKS):
        payload = b'{"id": "fuzz-evt", "type": "order.paid", "data": {}}'
        for signature in hs.SIGNATURE_EXAMPLES:
            yield hs.SIGNATURE, {"headers": {SIGNATURE_HEADER: hs.header_text(signature)}, "body": payload}


def _login_probes(target: Target) -> list[Probe]:
    found = [
        Probe(hs.CONTROL, "GET", query={"next": "\x00"}, raw_path=target.route),
        Probe(hs.CONTROL, "GET", raw_path=target.route + "%00"),
        Probe(RAW_HEADERS, "GET", headers=ODD_HEADERS, raw_path=target.route),
    ]
    values = [(kind, value) for kind, value in FIELD_VALUES if isinstance(value, str) and value != "\ud800"]
    values.append((hs.OVERSIZE, "a" * hs.OVERSIZE_BYTES))
    for input_kind, value in values:
        form = {"username": value, "password": value, "next": value}
        found.append(Probe(input_kind, "POST", form=form, raw_path=target.route))
    return found


def _body_schema(operation) -> dict | None:
    if operation is None:
        return None
    content = (operation.definition.raw.get("requestBody") or {}).get("content", {})
    return (content.get("application/json") or {}).get("schema")


def _filled(node: dict, value: Any, raw: dict, depth: int = 0) -> Any:
    """An instance of `node` with every scalar set to `value` (objects and arrays kept, three deep)."""
    node = harness._resolve(node, raw)
    if depth < 3 and "properties" in node:
        return {key: _filled(sub, value, raw, depth + 1) for key, sub in node["properties"].items()}
    if depth < 3 and node.get("type") == "array" and isinstance(node.get("items"), dict):
        return [_filled(node["items"], value, raw, depth + 1)]
    return value


def operations_of(schema) -> dict[tuple[str, str], Any]:
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[(operation.method.upper(), harness.shape(operation.path))] = operation
    return found


# --- delivery -----------------------------------------------------------------------------------------------
@dataclass
class RawResponse:
    status: int
    content: bytes
    cookies: dict[str, str]
    by_app: bool  # not an answer of the HTTP server in front of the application
    request_id: str | None = None


def wsgi_sender(app):
    """Send a raw request to a WSGI application in-process (as a WSGI server would hand it over)."""
    from werkzeug.test import Client

    client = Client(app)

    def send(method, path, query, headers, body) -> RawResponse:
        response = client.open(path, method=method, query_string=query or None, headers=headers, data=body)
        cookies = _cookies(response.headers.getlist("Set-Cookie"))
        return RawResponse(response.status_code, response.get_data(), cookies, by_app=True)

    return send


def http_sender(base_url: str):
    """Send a raw request over HTTP (header values go on the wire as their Latin-1 bytes)."""
    import requests

    session = requests.Session()

    def send(method, path, query, headers, body) -> RawResponse:
        response = session.request(
            method, base_url + path, params=query, headers=headers, data=body, allow_redirects=False, timeout=60
        )
        session.cookies.clear()
        cookies = _cookies(response.raw.headers.getlist("Set-Cookie"))
        by_app = harness.answered_by_app(response.headers)
        return RawResponse(
            response.status_code, response.content, cookies, by_app, response.headers.get("X-Request-ID")
        )

    return send


def _cookies(set_cookie: list[str]) -> dict[str, str]:
    return dict(item.split(";", 1)[0].split("=", 1) for item in set_cookie if "=" in item)


def deliver(probe: Probe, kind: str, world: FuzzWorld, operations: dict, target: Target, raw_send) -> Outcome:
    """Send one probe as `kind`: through schemathesis where the route is in the schema, else with
    `raw_send`, checking for a 5xx only."""
    operation = operations.get((probe.method, target.shape))
    if operation is not None and probe.raw_path is None:
        # the schema may name a parameter otherwise than the route (`{id}` for `<int:pk>`); the order is the same
        names = re.findall(r"\{([^}]+)\}", operation.path)
        params = dict(zip(names, (probe.params[name] for name in target.params), strict=True))
        case = operation.Case(path_parameters=params or None, query=probe.query or None, headers=dict(probe.headers))
        outcome = harness.send(case, kind, world, data=probe.body)
        outcome.input_kinds = {probe.input_kind}
        return outcome
    path = probe.raw_path if probe.raw_path is not None else _fill_path(target, probe.params)
    headers = {**world.credentials[kind], **probe.headers}
    body = probe.body
    if probe.form is not None:
        page = raw_send("GET", path, {}, headers, None)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
        fields = {**probe.form, "csrfmiddlewaretoken": token.group(1).decode() if token else ""}
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        if "csrftoken" in page.cookies:
            headers["Cookie"] = f"csrftoken={page.cookies['csrftoken']}"
        body = urlencode(fields).encode()
    if body is not None and probe.form is None:
        headers.setdefault("Content-Type", "application/json")
    response = raw_send(probe.method, path, probe.query, headers, body)
    outcome = Outcome(kind=kind, operation=f"{probe.method} {target.route}", status=response.status)
    outcome.input_kinds = {probe.input_kind}
    outcome.refused_by_server = not response.by_app
    outcome.request_id = response.request_id
    if outcome.server_error:
        url = path + ("?" + urlencode(probe.query) if probe.query else "")
        curl = harness.curl_command(probe.method, "$BASE" + url, headers, body)
        outcome.report = harness.report([], response.status, response.content, curl)
    return outcome


def _fill_path(target: Target, params: dict[str, str]) -> str:
    values = iter(quote(str(params[name]), safe="") for name in target.params)
    return re.sub(r"\{\}", lambda _: next(values), target.shape)
