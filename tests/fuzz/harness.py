"""What the fast fuzz test and the long campaign share: the world and the credential kinds, the hooks that
mix the hostile strategies into schemathesis cases, the checks, and sending one case as one kind of caller.

Hooks (schema-level, so the test and the campaign get the same ones); each leaves about half of what
schemathesis generates as it is:
* `flatmap_body`: half the bodies name the world's objects where a field names one (`product`,
  `distributor`, `currency`...: `with_world_values`), so that more of them are accepted; half have one
  place made hostile (strategies.mutated_json): any value replaced by an odd number, a control
  character, a formula, a raw JSON number, a 10,000-deep or 3 MB value (the whole body included), or an
  unknown field added to an object at any depth.
* `flatmap_path_parameters`: the world's real object (so the request gets past the 404 to the code
  behind it), what schemathesis made, or the real object with one parameter hostile (NUL, `²`, ...).
* `flatmap_query`: one declared parameter hostile; `cursor` a garbage cursor.
* `flatmap_headers`: the webhook's signature is valid (signed by the harness over the exact bytes
  sent), garbage, or as schemathesis made it; `Idempotency-Key` sometimes hostile.

Checks: schemathesis's (but the two on data acceptance, see EXCLUDED_CHECKS), and ours: a body with a
field its schema does not declare, at any depth, is refused; a number spelled otherwise than the schema
says (`１２`, `٢٦`, `1e3` for an integer or money) is refused; no CSV cell is a live formula. For the first
two, an accepted body is also sent again with an unknown field in a nested object, or a number in
full-width digits, which must be refused too (generated bodies are seldom accepted as they are).
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import schemathesis
from axes.utils import reset as axes_reset
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.core.failures import CustomFailure, FailureGroup
from schemathesis.transport.prepare import prepare_path

from catalog.models import Product
from distribution import crypto, rls
from distribution.auth import Actor
from distributors.models import Distributor, Level
from merchants.roles import API_KEY_ROLES, Role
from merchants.services.credentials import staff_login
from orders.models import WebhookEndpoint
from orders.services import webhooks
from settlements.models import Withdrawal
from settlements.services import withdrawals
from tests.builders.factories import make_api_key, make_distributor_token, owner_of
from tests.builders.world import build_world
from tests.fuzz import strategies as hs
from tests.helpers import PASSWORD, login_request
from tests.routes import _PARAM, EXTRA_PARAMS, api_routes, object_for

# Left out: the checks that a schema-valid request is always accepted and a schema-invalid one always
# refused. Semantic rules (an expiry in the past, an unknown time zone, an opaque cursor) refuse some
# schema-valid input by design, and DRF reads "0" and 0 alike for a string field.
EXCLUDED_CHECKS = [checks.positive_data_acceptance, checks.negative_data_rejection]

CREDENTIAL_KINDS = (*(f"api-key:{role}" for role in API_KEY_ROLES), "staff:owner", "distributor", "none")
AUTH_HEADERS = {"authorization", "x-api-key", "cookie"}
SIGNATURE_HEADER = webhooks.HEADER
SIGN_ME = "t=sign-me,v1=sign-me"  # the harness puts a valid signature here (see `send`)


@schemathesis.serializer("application/json")
def _json(ctx, value):
    """JSON bodies through strategies.dumps, so that a RawJson (deep, oversize, 1E-999999999) goes on the
    wire as written."""
    return hs.dumps(value)


def primary_kind(path: str) -> str:
    """The caller a route is for: the explicit (coverage and schema example) cases go out as this one."""
    return "distributor" if path.startswith("/api/v1/distributor/") else "staff:owner"


def schema_template(route: str) -> str:
    """`/api/v1/distributors/<int:pk>/team` -> the schema's shape `/api/v1/distributors/{}/team`."""
    return _PARAM.sub("{}", route)


def shape(schema_path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", schema_path)


# --- the world --------------------------------------------------------------------------------------------------
@dataclass
class FuzzWorld:
    merchant: Any
    credentials: dict[str, dict[str, str]]
    # route shape -> the world's values for its parameters, in the route's order
    path_values: dict[str, list[str]]
    # body field name -> a value naming one of the world's objects (a product, a distributor, a level...)
    body_values: dict[str, Any]
    webhook_secret: str
    base_url: str | None = None  # where the world is served; None: in-process (the schema's WSGI app)

    @classmethod
    @rls.bypass()  # test set-up works across merchants, as a platform job does
    def build(cls, slug: str = "fuzz") -> FuzzWorld:
        merchant = build_world(slug)
        actor = Actor.system(slug)
        # A seller named like a formula, with an approved manual withdrawal: the payout export (CSV) shows it.
        seller = Distributor.objects.for_merchant(merchant).get(external_user_id=f"{slug}-app-user")
        Distributor.objects.for_merchant(merchant).filter(pk=seller.pk).update(display_name=hs.FORMULA_EXAMPLES[0])
        withdrawal = Withdrawal.objects.for_merchant(merchant).filter(distributor=seller, status="requested").first()
        withdrawals.withdrawal_approve(merchant=merchant, actor=actor, withdrawal_id=withdrawal.pk)
        endpoint = WebhookEndpoint.objects.for_merchant(merchant).get()
        level = Level.objects.for_merchant(merchant).order_by("rank").first()
        body_values = {
            "product": Product.objects.for_merchant(merchant).first().external_id,
            "currency": merchant.currency,
            "share_code": seller.invite_code,
            "invite_code": seller.invite_code,
            "customer_external_id": f"{slug}-customer",
            "distributor": seller.pk,
            "inviter": seller.pk,
            "level": level.pk,
            "level_id": level.pk,
        }
        world = cls(
            merchant=merchant,
            credentials={},
            path_values=_path_values(merchant, endpoint),
            body_values=body_values,
            webhook_secret=crypto.decrypt(endpoint.secret_encrypted),
        )
        for kind in CREDENTIAL_KINDS:
            world.reissue(kind)
        return world

    @rls.bypass()
    def reissue(self, kind: str) -> dict[str, str]:
        """A fresh credential of this kind (after a request may have revoked the last one)."""
        merchant = self.merchant
        if kind.startswith("api-key:"):
            role = kind.split(":", 1)[1]
            _, key = make_api_key(merchant, role=role, name=f"fuzz {role} key")
            headers = {"X-Api-Key": key}
        elif kind == "staff:owner":
            owner = owner_of(merchant)
            assert owner.role == Role.OWNER
            # generated requests try wrong passwords from this address: lift the lock-outs they caused
            axes_reset()
            _, key = staff_login(
                request=login_request(), username=owner.user.username, password=PASSWORD, merchant_slug=merchant.slug
            )
            headers = {"Authorization": f"Bearer {key}"}
        elif kind == "distributor":
            _, key = make_distributor_token(merchant, external_user_id=f"{merchant.slug}-app-user")
            headers = {"Authorization": f"Bearer {key}"}
        elif kind == "none":
            headers = {}
        else:
            raise ValueError(kind)
        self.credentials[kind] = headers
        return headers

    def sign(self, body: bytes) -> str:
        return webhooks.signature_header(self.webhook_secret, body)


def _path_values(merchant, endpoint) -> dict[str, list[str]]:
    values = {}
    for route in api_routes():
        if not route.params:
            continue
        if route.view.__name__ == "OrderWebhookApi":
            found = {"public_id": endpoint.public_id}
        else:
            found = object_for(route, merchant) if route.object_params else {}
        found = {**EXTRA_PARAMS, **found}
        values[schema_template(route.route)] = [str(found[name]) for name in route.params]
    return values


class Stage:
    """The world the hooks draw real objects from (set by the test fixture or the campaign)."""

    world: FuzzWorld | None = None


# --- hooks ---------------------------------------------------------------------------------------------------
def install_hooks(schema) -> None:
    @schema.hook
    def flatmap_body(ctx, body):
        if body is None:
            return st.just(body)

        def variant(choice):
            realistic, hostile = choice
            value = with_world_values(body) if realistic else body
            return hs.mutated_json(value) if hostile else st.just(value)

        return st.tuples(st.booleans(), st.booleans()).flatmap(variant)

    @schema.hook
    def flatmap_path_parameters(ctx, path_parameters):
        names = list(path_parameters or {})
        real = Stage.world.path_values.get(shape(ctx.operation.path)) if Stage.world else None
        if not names or not real or len(real) != len(names):
            return st.just(path_parameters)
        real_values = dict(zip(names, real, strict=True))
        hostile = st.tuples(st.sampled_from(names), hs.hostile_text(in_url=True)).map(
            lambda pair: {**real_values, pair[0]: pair[1]}
        )
        return st.one_of(st.just(real_values), st.just(path_parameters), hostile)

    @schema.hook
    def flatmap_query(ctx, query):
        names = [parameter.name for parameter in ctx.operation.query]
        if not names:
            return st.just(query)

        def hostile(name):
            value = hs.garbage_cursors() if name == "cursor" else hs.hostile_text(in_url=True)
            return value.map(lambda v: {**(query or {}), name: v})

        return st.booleans().flatmap(lambda h: st.sampled_from(names).flatmap(hostile) if h else st.just(query))

    @schema.hook
    def flatmap_headers(ctx, headers):
        names = {parameter.name for parameter in ctx.operation.headers}
        headers = dict(headers or {})
        if SIGNATURE_HEADER in names:
            signature = st.one_of(st.just(SIGN_ME), hs.garbage_signatures(), st.just(headers.get(SIGNATURE_HEADER)))
            return signature.map(lambda v: {**headers, SIGNATURE_HEADER: v} if v is not None else headers)
        if "Idempotency-Key" in names:
            key = st.one_of(st.none(), hs.hostile_text(in_url=True).map(hs.header_text))
            return key.map(lambda v: {**headers, "Idempotency-Key": v} if v else headers)
        return st.just(headers)


def with_world_values(value: Any) -> Any:
    """`value` with each field that names an object of the world (`product`, `distributor`, `currency`...)
    naming the world's, so that a generated body gets past "no such product" to the code behind it."""
    known = Stage.world.body_values if Stage.world else {}
    if isinstance(value, dict):
        return {k: known[k] if k in known else with_world_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_world_values(item) for item in value]
    return value


# --- checks beyond schemathesis's ---------------------------------------------------------------------------
def _refused(response, what: str, found) -> None:
    """A request holding any of `found` must not be accepted."""
    found = sorted(found)
    if found and 200 <= response.status_code < 300:
        raise AssertionError(f"A {response.status_code} for {what}: {'; '.join(found)}")


def unknown_fields_are_refused(ctx, response, case):
    """A body with a field the request schema does not declare, at any depth, is refused (issue 11, 10)."""
    _refused(response, "a body with unknown fields", unknown_fields(case))


def csv_cells_are_not_formulas(ctx, response, case):
    """No CSV cell starts like a spreadsheet formula (=, +, -, @, tab, CR) unless it is a number (issue 11, 3)."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("text/csv"):
        return None
    rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig", "replace")))
    live = [cell for row in rows for cell in row if hs.is_formula(cell)]
    if live:
        raise AssertionError(f"CSV cells a spreadsheet would run: {live[:5]}")
    return None


def numbers_are_ascii(ctx, response, case):
    r"""A number the schema spells with ASCII digits (an integer parameter, a string with a number's
    pattern such as money's `^-?\d+(\.\d{1,2})?$`, where `\d` is 0-9 as in JSON Schema) is refused
    when sent as `１２`, `٢٦`, `1e3` or ` 12` (issue 11, 1): it must not be read as a number."""
    _refused(response, "numbers the schema refuses", misspelled_numbers(case))


EXTRA_CHECKS = [unknown_fields_are_refused, csv_cells_are_not_formulas, numbers_are_ascii]
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def is_number_pattern(pattern: str) -> bool:
    """A pattern made of digits, a sign and a decimal point only (money's), not a phone's or a slug's."""
    rest = pattern.replace("\\d", "").replace("\\.", "")
    return "\\d" in pattern and set(rest) <= set("^$-+?*(){},0123456789")


def misspelled_numbers(case) -> Iterator[str]:
    """Each value of the request that the schema reads as a number and that is not spelled as one."""
    for location, values in (("path", case.path_parameters), ("query", case.query)):
        parameters = case.operation.path_parameters if location == "path" else case.operation.query
        for parameter in parameters:
            value, schema = (values or {}).get(parameter.name), parameter.definition.get("schema", {})
            spelling = {"integer": _INTEGER, "number": _NUMBER}.get(schema.get("type"))
            # (an empty value is read as no value, as for any filter)
            if isinstance(value, str) and value and spelling is not None and not spelling.fullmatch(value):
                yield f"{location} {parameter.name}={value!r}"
    for path, value, pattern in strings_with_patterns(case):
        if is_number_pattern(pattern) and not re.search(pattern, value, re.ASCII):
            yield f"{dotted(path)}={value[:40]!r}"


def _resolve(node: dict, raw: dict) -> dict:
    while "$ref" in node:
        target = raw
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    if "allOf" in node and len(node["allOf"]) == 1:
        node = {**_resolve(node["allOf"][0], raw), **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def _walk_body(case) -> Iterator[tuple[tuple, Any, dict]]:
    """(path in the body, value, its resolved schema) for every value of the body the schema describes."""
    body = case.body
    content = (case.operation.definition.raw.get("requestBody") or {}).get("content", {})
    schema = (content.get(case.media_type or "application/json") or {}).get("schema")
    if schema is None:
        return
    raw = case.operation.schema.raw_schema

    def walk(value, node, path):
        node = _resolve(node, raw)
        yield path, value, node
        if isinstance(value, dict) and "properties" in node:
            for key, item in value.items():
                if key in node["properties"]:
                    yield from walk(item, node["properties"][key], (*path, key))
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                yield from walk(item, node["items"], (*path, i))

    yield from walk(body, schema, ())


def closed_objects(case) -> list[tuple[tuple, dict, set[str]]]:
    """Every object in the body whose schema says which fields it has (it lists properties and allows no
    others): (its path in the body, the object, the declared names)."""
    return [
        (path, value, set(node["properties"]))
        for path, value, node in _walk_body(case)
        if isinstance(value, dict) and "properties" in node and node.get("additionalProperties") in (None, False)
    ]


def strings_with_patterns(case) -> list[tuple[tuple, str, str]]:
    return [
        (path, value, node["pattern"])
        for path, value, node in _walk_body(case)
        if isinstance(value, str) and isinstance(node.get("pattern"), str)
    ]


def dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def unknown_fields(case) -> set[str]:
    """Dotted paths of the body's fields that its schema does not declare."""
    return {
        dotted((*path, key)) for path, value, declared in closed_objects(case) for key in value if key not in declared
    }


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def variants_to_refuse(case) -> Iterator[tuple[str, str, Any]]:
    """An accepted body again, made wrong in one place: (the check, where, the body). An unknown field in
    a nested object (top-level ones are refused already; the finding is about nested ones), or a number
    field's value in full-width digits."""
    for path, value, declared in closed_objects(case)[:4]:
        if path:
            key = next(k for k in (*hs.UNKNOWN_KEYS, "evil-2") if k not in declared and k not in value)
            yield "unknown_fields_are_refused", dotted((*path, key)), hs.replaced(case.body, path, {**value, key: 1})
    numbers = [(p, v) for p, v, pattern in strings_with_patterns(case) if is_number_pattern(pattern)]
    for path, value in numbers[:2]:
        if value.translate(FULL_WIDTH) != value:
            yield (
                "numbers_are_ascii",
                f"{dotted(path)}={value.translate(FULL_WIDTH)!r}",
                hs.replaced(case.body, path, value.translate(FULL_WIDTH)),
            )


# --- sending one case as one kind of caller ------------------------------------------------------------------
@dataclass
class Outcome:
    kind: str
    operation: str
    status: int
    failures: list = field(default_factory=list)
    report: str = ""
    input_kinds: set[str] = field(default_factory=set)
    # A 4xx of the HTTP server in front of the application (gunicorn refusing a request line over its
    # limit, say): the application never saw the request, so its checks do not apply.
    refused_by_server: bool = False
    request_id: str | None = None  # the application's X-Request-ID: its log has the traceback of a 5xx

    @property
    def server_error(self) -> bool:
        return self.status >= 500

    @property
    def violations(self) -> list:
        """Failed response checks on an answer that is not a 5xx (a 5xx is counted as that, once)."""
        if self.server_error or self.refused_by_server:
            return []
        return [f for f in self.failures if f.code.startswith("ST1")]

    @property
    def other(self) -> list:
        """Failed checks of other kinds: ours (unknown fields, CSV formulas), ignored auth, ..."""
        if self.server_error or self.refused_by_server:
            return []
        return [f for f in self.failures if not f.code.startswith("ST1")]

    @property
    def failed(self) -> bool:
        return self.server_error or bool(self.violations or self.other)

    def signatures(self) -> list[str]:
        """What makes this failure distinct: the operation and status, and each failed check."""
        if self.server_error:
            return [f"{self.operation} -> {self.status}"]
        return [f"{self.operation} -> {f.title}" for f in self.failures]

    def describe(self, limit: int = 3000) -> str:
        kinds = ", ".join(sorted(self.input_kinds)) or "generated"
        text = self.report if len(self.report) <= limit else self.report[:limit] + f"… ({len(self.report):,} chars)"
        return f"[{self.kind}] {self.operation} -> {self.status} (input: {kinds})\n{text}"


def case_kinds(case) -> set[str]:
    kinds = set()
    # a path parameter goes on the wire as it is where schemathesis made it percent-encoded ("%00")
    for value in (case.path_parameters or {}).values():
        kinds |= hs.value_kinds(unquote(value) if isinstance(value, str) else value)
    for container in (case.query, case.body):
        kinds |= hs.value_kinds(container) if container is not None else set()
    headers = dict(case.headers or {})
    signature = headers.pop(SIGNATURE_HEADER, None)
    if signature is not None and signature != SIGN_ME:
        kinds.add(hs.SIGNATURE)
    if (case.query or {}).get("cursor"):
        kinds.add(hs.CURSOR)
    for value in headers.values():
        kinds |= hs.text_kinds(str(value))
    if unknown_fields(case):
        kinds.add(hs.UNKNOWN_FIELD)
    return kinds


def send(case, kind: str, world: FuzzWorld, *, data: bytes | None = None, variants: bool = True) -> Outcome:
    """Send `case` with the credentials of `kind` (generated auth headers and cookies dropped, except for
    `none`), a valid webhook signature where the hooks asked for one, and run every check on the answer.
    `data` replaces the body with these exact bytes. An accepted body is sent again made wrong in one
    place (`variants_to_refuse`), which must be refused."""
    original, cookies, base_url = case.headers, case.cookies, world.base_url
    headers = dict(world.credentials[kind])
    extra: dict[str, Any] = {} if data is None else {"data": data}
    try:
        if kind != "none":
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in AUTH_HEADERS}
            case.cookies = {}
        if (case.headers or {}).get(SIGNATURE_HEADER) == SIGN_ME:
            body = data if data is not None else case.as_transport_kwargs(base_url=base_url).get("data", b"")
            headers[SIGNATURE_HEADER] = world.sign(body if isinstance(body, bytes) else str(body).encode())
        try:
            response = case.call(base_url=base_url, headers=headers, **extra)
        except Exception as exc:  # schemathesis notes a curl command, which for a 3 MB body is 3 MB long
            exc.__notes__ = [note[:2000] for note in getattr(exc, "__notes__", [])]
            raise
        outcome = Outcome(kind=kind, operation=case.operation.label, status=response.status_code)
        outcome.input_kinds = case_kinds(case)
        outcome.refused_by_server = base_url is not None and not answered_by_app(response.headers)
        outcome.request_id = (response.headers.get("x-request-id") or [None])[0]
        transport_kwargs = {"headers": headers, **extra, **({"base_url": base_url} if base_url else {})}
        try:
            case.validate_response(
                response,
                excluded_checks=EXCLUDED_CHECKS,
                additional_checks=EXTRA_CHECKS,
                headers=headers,
                transport_kwargs=transport_kwargs,
            )
        except FailureGroup as group:
            outcome.failures = list(group.exceptions)
        if variants and data is None and 200 <= outcome.status < 300 and not outcome.failures:
            outcome.failures += _variants_accepted(case, kind, world)
        if outcome.failed:
            if data is None:
                curl = case.as_curl_command(headers=headers, base_url=base_url)
            else:
                curl = curl_command(case.method, case_url(case, base_url), {**(case.headers or {}), **headers}, data)
            outcome.report = report(outcome.failures, response.status_code, response.content, curl)
        return outcome
    finally:
        case.headers, case.cookies = original, cookies


def _variants_accepted(case, kind: str, world: FuzzWorld) -> list:
    failures = []
    for check, where, body in variants_to_refuse(case):
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "idempotency-key"}
        if any(p.name == "Idempotency-Key" for p in case.operation.headers):
            headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
        variant = case.derive(headers=headers)
        variant.body = body
        again = send(variant, kind, world, variants=False)
        if 200 <= again.status < 300:
            message = f"The body was accepted again ({again.status}) with {where}"
            failures.append(
                CustomFailure(
                    operation=case.operation.label,
                    title=f"Custom check failed: `{check}`",
                    message=message,
                    exception=AssertionError(message),
                )
            )
    return failures


def answered_by_app(headers) -> bool:
    """Every answer of the application carries the request id (distribution.middleware)."""
    return any(name.lower() == "x-request-id" for name in headers)


def case_url(case, base_url: str | None) -> str:
    path = case.operation.schema.get_full_path(prepare_path(case.path, case.path_parameters))
    query = "?" + urlencode(case.query, doseq=True) if case.query else ""
    return (base_url or "http://localhost") + path + query


def report(failures: list, status: int, content: bytes, curl: str) -> str:
    lines = [f"- {failure.title}: {failure.message}".strip().rstrip(":") for failure in failures]
    if not failures:
        lines.append(f"- {status}")
    body = content[:400].decode("utf-8", "replace")
    return "\n".join([*lines, f"Answer: {body}", f"Reproduce with: {curl[:1500]}"])


def curl_command(method: str, url: str, headers: dict, body: bytes | None) -> str:
    """A curl command for a request (credentials shown as [Filtered]; a long body as its start)."""
    parts = [f"curl -X {method} {shlex.quote(url)}"]
    for name, value in headers.items():
        shown = "[Filtered]" if name.lower() in AUTH_HEADERS else str(value)[:100]
        parts.append(f"-H {shlex.quote(f'{name}: {shown}')}")
    if body is not None:
        shown = body[:200].decode("utf-8", "replace")
        parts.append(f"--data-binary {shlex.quote(shown)}" + (f"  # …{len(body):,} bytes" if len(body) > 200 else ""))
    return " ".join(parts)


def may_have_revoked(method: str, path: str, status: int) -> bool:
    """Whether a request may have taken its own credential away (a revocation, a change to the staff or
    the API keys); on a real server that lasts, so the campaign then issues a fresh one."""
    changed = method.upper() != "GET" and 200 <= status < 300
    return changed and bool(re.search(r"revoke|/staff|/api-keys|/distributor-tokens", path))
