"""API fuzzing with schemathesis over our own OpenAPI schema, with the hostile input kinds of issue 11 mixed
in (tests/fuzz): whatever a caller sends, the answer is never a 5xx and it matches what the schema promises
(status codes, content types, body shapes, headers); a body with unknown fields at any depth is refused,
a number in other digits than 0-9 is refused and no CSV cell is a live formula (tests/fuzz/harness.py).

The fast pass of `make fuzz` (tests/fuzz/campaign.py), in-process: every generated case goes out once per
kind of credential (an API key of each role, the owner's staff token, a distributor token, none), each
inside a savepoint that is rolled back, so every request sees the same world and one cannot revoke the
next one's credential. Coverage and schema example cases go out as the route's own caller only. Then the
hand-made probes of tests/fuzz/direct.py go to every route of the URL configuration and the login pages.
"""

from __future__ import annotations

import contextlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from schemathesis.generation.meta import TestPhase

from config.wsgi import application
from tests.fuzz import direct, harness
from tests.fuzz.harness import CREDENTIAL_KINDS, FuzzWorld, Stage

# Generating the schema touches no database, so it can be loaded when the module is collected.
schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", application)
harness.install_hooks(schema)
OPERATIONS = direct.operations_of(schema)


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """One world for the module's tests, in a transaction that is never committed (each test's own
    transaction, and each request's savepoint, nest inside it)."""
    # Requests go straight to the WSGI app; like Django's test client, keep the test's connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            Stage.world = FuzzWorld.build("fuzz")
            yield Stage.world
        finally:
            Stage.world = None
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


@contextlib.contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_no_failures(outcomes) -> None:
    failed = [outcome for outcome in outcomes if outcome.failed]
    if failed:
        pytest.fail(f"{len(failed)} failing requests:\n\n" + "\n\n".join(o.describe() for o in failed))


@schema.parametrize()
# No shrinking: a failing case is reported as generated (with a curl to reproduce it), so that a failure
# costs no more time than a pass; `make fuzz` is the place for long runs.
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
def test_no_server_errors_and_responses_match_the_schema(case, fuzz_world, db):
    generated = case.meta is None or case.meta.phase.name == TestPhase.FUZZING
    kinds = CREDENTIAL_KINDS if generated else [harness.primary_kind(case.path)]
    outcomes = []
    for kind in kinds:
        with rolled_back():
            outcomes.append(harness.send(case, kind, fuzz_world))
    assert_no_failures(outcomes)


@pytest.mark.parametrize("target", direct.targets(), ids=str)
def test_hostile_requests_to_every_route(target, fuzz_world, db):
    send_raw = direct.wsgi_sender(application)
    outcomes = []
    for probe in direct.probes(target, fuzz_world, OPERATIONS):
        for kind in probe.kinds:
            with rolled_back():
                outcomes.append(direct.deliver(probe, kind, fuzz_world, OPERATIONS, target, send_raw))
    assert outcomes
    assert_no_failures(outcomes)
