"""`make fuzz`: the long fuzz campaign against a real server on loopback.

    python -m tests.fuzz.campaign [--minutes 10] [--max-examples 200] [--seed N]

Under `scripts/devstack.py exec` (which gives it PostgreSQL and Redis when DATABASE_URL / REDIS_URL are
not set). It creates a database of its own from the test settings (migrated), builds the world in it
(tests/world.py, plus the fuzz extras of harness.FuzzWorld) and issues one credential of each kind. Then,
for each kind of credential in turn, on a fresh copy of that database: gunicorn on a free 127.0.0.1 port,
the hand-made probes of tests/fuzz/direct.py to every route, then generated cases (positive and
negative, the hostile strategies mixed in by the hooks) for every operation of the schema the server
publishes, each operation bounded by --max-examples and by its share of the time left.

It prints one table: per credential kind, the requests sent, the 5xx, the answers that violate the
schema, the other failed checks (tests/fuzz/harness.py), errors of the harness itself, and the requests
gunicorn refused before the application saw them (not counted as failures). Then every distinct failure
(an operation and, for a 5xx, the exception behind it, read from the server's log by request id; or
the failed check) with a reproduction, and the distinct causes. It exits 1 if there was any failure.
The databases, the servers and their Redis keys are removed at the end; the server logs stay in
.data/fuzz/.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
SETUP_MARGIN_SECONDS = 20  # stopping servers, dropping databases, printing


class OutOfTime(BaseException):
    """Stops an operation's examples when its share of the time is used (not an Exception, so that
    Hypothesis lets it through instead of calling it a failure)."""


@dataclass
class Tally:
    kind: str
    requests: int = 0
    server_errors: int = 0
    violations: int = 0
    other: int = 0
    refused: int = 0
    errors: int = 0
    failing: list = field(default_factory=list)  # the failing outcomes (the first MAX_KEPT)
    harness_errors: dict = field(default_factory=dict)  # where -> [count, text]
    causes: dict = field(default_factory=dict)  # request id -> the exception in the server's log

    def add(self, outcome) -> None:
        self.requests += 1
        self.server_errors += outcome.server_error
        self.violations += bool(outcome.violations)
        self.other += bool(outcome.other)
        self.refused += outcome.refused_by_server and not outcome.server_error
        if outcome.failed and len(self.failing) < MAX_KEPT:
            self.failing.append(outcome)

    def error(self, where: str, exc: BaseException) -> None:
        self.errors += 1
        text = "".join(traceback.format_exception_only(exc)).strip()[:1500]
        self.harness_errors.setdefault(f"{where} -> harness error {type(exc).__name__}", [0, text])[0] += 1

    def keys(self, outcome) -> list[str]:
        """What makes a failure distinct: the operation, and the exception behind a 5xx (from the server's
        log) or the failed check."""
        if outcome.server_error:
            cause = self.causes.get(outcome.request_id, "no traceback in the server log")
            return [f"{outcome.operation} -> {outcome.status}: {cause}"]
        return [f"{outcome.operation} -> {failure.title}" for failure in outcome.violations + outcome.other]

    @property
    def failed(self) -> bool:
        return bool(self.server_errors or self.violations or self.other or self.errors)


MAX_KEPT = 20_000
LOGGED_ERROR = re.compile(r"^\S+ \S+ ERROR \[([0-9a-f-]+)\] (distribution\.api|django\.request): ")
NEW_LINE_OF_LOG = re.compile(r"^(\d{4}-\d\d-\d\d |\d+\.\d+\.\d+\.\d+ - |\[\d{4}-)")
FRAME = re.compile(r'^  File "([^"]+)", line (\d+), in (\S+)')


def causes_in(log_path: Path) -> dict[str, str]:
    """request id -> "Exception: message (at the deepest frame of our code)", from the server's log."""
    causes, request_id, block = {}, None, []

    def close():
        if request_id and block:
            ours = [m for m in map(FRAME.match, block) if m and m[1].startswith(f"{ROOT}/") and "/.venv/" not in m[1]]
            where = f" (at {Path(ours[-1][1]).relative_to(ROOT)}:{ours[-1][2]} in {ours[-1][3]})" if ours else ""
            # one cause for what differs only in a position or a value ("... but got 'abc'.", "position 85")
            exception = re.sub(r"but got '.*'\.$", "but got '…'.", block[-1].strip()[:160])
            causes[request_id] = re.sub(r"position \d+", "position N", exception) + where

    for line in log_path.read_text(errors="replace").splitlines():
        if NEW_LINE_OF_LOG.match(line):
            close()
            match = LOGGED_ERROR.match(line)
            request_id, block = (match[1], []) if match else (None, [])
        elif request_id and line.strip():
            block.append(line)
    close()
    return causes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="the whole run, set-up included")
    parser.add_argument("--max-examples", type=int, default=200, help="generated cases an operation and credential")
    parser.add_argument("--seed", type=int, default=random.randrange(2**32), help="to repeat a run's generated cases")
    parser.add_argument("--kinds", default="", help="comma-separated credential kinds (default: all)")
    args = parser.parse_args()
    started = time.monotonic()
    deadline = started + args.minutes * 60 - SETUP_MARGIN_SECONDS

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            raise SystemExit(f"{name} is not set: run this through `make fuzz` (scripts/devstack.py exec)")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from bench.common import delete_redis_keys
    from tests.fuzz import harness

    kinds = [k for k in args.kinds.split(",") if k] or list(harness.CREDENTIAL_KINDS)
    log(f"seed {args.seed}; {args.minutes:g} minutes; at most {args.max_examples} examples an operation")
    template = f"fuzz_{os.getpid()}"
    logs = ROOT / ".data" / "fuzz"
    logs.mkdir(parents=True, exist_ok=True)
    tallies: list[Tally] = []
    original = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = template
    log(f"creating and migrating database {template}")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    # the servers connect as the application's role, held to row-level security (this process stays the owner)
    from django.conf import settings

    from distribution import rls

    rls.create_app_role(connection, settings.DATABASE_APP_USER, settings.DATABASE_APP_PASSWORD)
    copies: list[str] = []
    try:
        world = harness.FuzzWorld.build("fuzz")
        harness.Stage.world = world
        log(f"world built ({time.monotonic() - started:.0f}s)")
        schema = None
        for index, kind in enumerate(kinds):
            copy = f"{template}_{index}"
            use_database(connection, template)
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
            copies.append(copy)
            use_database(connection, copy)  # credentials re-issued during the run go to the copy
            log_path = logs / f"server-{kind.replace(':', '-')}.log"
            with gunicorn(copy, log_path) as (base_url, pid):
                world.base_url = base_url
                if schema is None:
                    schema = load_schema(base_url)
                tally = Tally(kind)
                tallies.append(tally)
                until = time.monotonic() + (deadline - time.monotonic()) / (len(kinds) - index)
                run_kind(schema, kind, world, tally, until=until, max_examples=args.max_examples, seed=args.seed)
                log(
                    f"{kind}: {tally.requests} requests, {tally.server_errors} 5xx, {tally.violations} violations,"
                    f" {tally.other} other, {tally.errors} errors, {tally.refused} refused by gunicorn"
                    f" ({time.monotonic() - started:.0f}s)"
                )
            tally.causes = causes_in(log_path)  # the server has stopped: its log is complete
            delete_redis_keys(f"test-{pid}")
            use_database(connection, template)
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{copy}"')
    finally:
        harness.Stage.world = None
        use_database(connection, template)
        with connection._nodb_cursor() as cursor:
            for copy in copies:
                cursor.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        connection.creation.destroy_test_db(original, verbosity=0)
        delete_redis_keys(f"test-{os.getpid()}")
    print_report(tallies, logs, time.monotonic() - started, args.seed)
    return 1 if any(t.failed for t in tallies) else 0


def log(message: str) -> None:
    print(f"[fuzz] {message}", flush=True)


def use_database(connection, name: str) -> None:
    connection.close()
    connection.settings_dict["NAME"] = name


def database_url(name: str) -> str:
    """The database `name` as the application's role (DATABASE_APP_USER), on DATABASE_URL's server."""
    from urllib.parse import quote

    from django.conf import settings

    parts = urlsplit(os.environ["DATABASE_URL"])
    user = quote(settings.DATABASE_APP_USER)
    if settings.DATABASE_APP_PASSWORD:
        user += ":" + quote(settings.DATABASE_APP_PASSWORD)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}", path="/" + name))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database: str, log_path: Path):
    """gunicorn with the test settings on a free loopback port, its own database; yields (url, pid)."""
    import requests

    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "DATABASE_URL": database_url(database)}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    # --preload: the settings (and so the cache key prefix, test-<pid>) are read once, in this process
    command += ["--preload", "--timeout", "120", "--access-logfile", "-", "--error-logfile", "-"]
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                if process.poll() is not None:
                    raise SystemExit(f"gunicorn exited with {process.returncode}; see {log_path}")
                time.sleep(0.1)
            else:
                raise SystemExit(f"gunicorn did not answer on {base_url}; see {log_path}")
            yield base_url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def load_schema(base_url: str):
    import schemathesis

    from tests.fuzz import harness

    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema?format=json")
    harness.install_hooks(schema)
    return schema


def run_kind(schema, kind: str, world, tally: Tally, *, until: float, max_examples: int, seed: int) -> None:
    from tests.fuzz import direct, harness

    operations = direct.operations_of(schema)
    send_raw = direct.http_sender(world.base_url)
    for target in direct.targets():
        for probe in direct.probes(target, world, operations):
            if kind not in probe.kinds:
                continue
            try:
                outcome = direct.deliver(probe, kind, world, operations, target, send_raw)
            except Exception as exc:
                tally.error(f"{probe.method} {target.route} ({probe.input_kind})", exc)
                continue
            tally.add(outcome)
            if harness.may_have_revoked(probe.method, target.route, outcome.status):
                world.reissue(kind)
    ordered = sorted(operations.values(), key=lambda op: op.label)
    for index, operation in enumerate(ordered):
        share = (until - time.monotonic()) / (len(ordered) - index)
        if share <= 0:
            break
        keep_credential_working(kind, world, send_raw)
        fuzz_operation(
            operation, kind, world, tally, until=time.monotonic() + share, max_examples=max_examples, seed=seed + index
        )


CANARIES = {"distributor": "/api/v1/distributor/me", "none": None}


def keep_credential_working(kind: str, world, send_raw) -> None:
    """A fresh credential if the last one stopped working (something the rules for `may_have_revoked`
    did not foresee took it away): a request that every caller of this kind may make must not be a 401."""
    path = CANARIES.get(kind, "/api/v1/me")
    if path and send_raw("GET", path, {}, world.credentials[kind], None).status == 401:
        log(f"{kind}: the credential stopped working; a fresh one")
        world.reissue(kind)


def fuzz_operation(operation, kind, world, tally: Tally, *, until: float, max_examples: int, seed: int) -> None:
    """Generated cases for one operation, sent as `kind`, until `max_examples` or `until`."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    from tests.fuzz import harness

    strategy = st.one_of(operation.as_strategy(generation_mode=mode) for mode in GenerationMode)

    @hypothesis.seed(seed)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=strategy)
    def run(case):
        if time.monotonic() > until:
            raise OutOfTime
        try:
            outcome = harness.send(case, kind, world)
        except Exception as exc:
            tally.error(operation.label, exc)
            return
        tally.add(outcome)
        if harness.may_have_revoked(case.method, case.path, outcome.status):
            world.reissue(kind)

    with contextlib.suppress(OutOfTime):
        run()


def print_report(tallies: list[Tally], logs: Path, elapsed: float, seed: int) -> None:
    columns = ("requests", "server_errors", "violations", "other", "errors", "refused")
    rows = [
        ("credential", "requests", "5xx", "schema violations", "other checks", "harness errors", "refused by gunicorn")
    ]
    rows += [(t.kind, *(getattr(t, c) for c in columns)) for t in tallies]
    rows.append(("total", *(sum(getattr(t, c) for t in tallies) for c in columns)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    print()
    for n, row in enumerate(rows):
        cells = [
            str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))
        if n in (0, len(rows) - 2):
            print("  ".join("-" * w for w in widths))
    distinct: dict[str, dict] = {}
    for tally in tallies:
        for outcome in tally.failing:
            for key in tally.keys(outcome):
                entry = distinct.setdefault(key, {"kinds": Counter(), "inputs": set(), "first": outcome})
                entry["kinds"][tally.kind] += 1
                entry["inputs"] |= outcome.input_kinds or {"generated"}
        for key, (count, text) in tally.harness_errors.items():
            entry = distinct.setdefault(key, {"kinds": Counter(), "inputs": set(), "first": text})
            entry["kinds"][tally.kind] += count
    print(f"\n{len(distinct)} distinct failures in {elapsed / 60:.1f} minutes (seed {seed}; server logs in {logs})")
    for key, entry in sorted(distinct.items()):
        first = entry["first"]
        print(f"\n== {key}")
        print(f"   input: {', '.join(sorted(entry['inputs'])) or '-'}; seen as: ", end="")
        print(", ".join(f"{kind} ×{count}" for kind, count in entry["kinds"].items()))
        print("   " + (first if isinstance(first, str) else first.describe(1500)).replace("\n", "\n   "))
    causes: dict[str, set] = {}
    for key in distinct:
        operation, _, cause = key.partition(" -> ")
        causes.setdefault(cause, set()).add(operation)
    print(f"\n{len(causes)} distinct causes (the exception behind a 5xx, or the failed check):")
    for cause, operations in sorted(causes.items(), key=lambda item: -len(item[1])):
        print(f"  {len(operations):3} operations  {cause}")


if __name__ == "__main__":
    sys.exit(main())
