"""Celery throughput: tasks per second through a real worker, next to the broker's raw LPUSH rate.

    .venv/bin/python bench/celery_throughput.py [--scale small|full]

The worker is a real `celery -A config worker` subprocess, deployed as docker-compose.yml deploys it:
`--pool prefork --concurrency 4`, every queue, `-l info` (logging to bench/results/celery-worker.log),
production settings (`DJANGO_SETTINGS_MODULE=config.settings`, DEBUG off, not eager) and the product's
Celery configuration (late acknowledgement, prefetch 1, results in Redis). It runs under a
queue prefix of its own (CELERY_QUEUE_PREFIX) against <DATABASE_URL db>_bench, and with
`--without-gossip --without-mingle --without-heartbeat` so that it does not talk to the other workers that
share the Redis (inter-worker chatter on the broker, not the task path). Tasks are published from this
process through the product's router (`route_task`: both tasks go to `<prefix>default`), by 4 publisher
threads sharing Celery's producer pool, with `app.send_task` as `distribution/outbox.py` publishes.

* ours, no-op: N `distribution.ping` tasks (the product's smallest task: one `SELECT current_database()`;
  but see "Reading it" below: every task also opens a new database connection).
* ours, ingest-as-task: N `orders.ingest` tasks, each a paid order (one item, a distributor's share code,
  a new customer) validated and ingested by the same serializer and service as `POST /api/v1/orders`:
  attribution, a binding, the order, its two commission lines (seller and inviter) and their ledger
  postings. Afterwards every order and its commission lines are checked, and the merchant's ledger.
* raw: 4 threads, each with its own redis-py connection, LPUSH N 1 KiB messages each to one list, one
  command per round trip (no pipelining): the broker's own limit for putting messages on a queue at the same
  concurrency (the classic "Redis LPUSH, 4 clients" baseline; from Python here, so the same
  client-side costs as our publisher, minus Celery).

Both rates are end to end: N ÷ (the last task's completion − the first publish). Completion is read from
the result backend the product already configures (Redis; every task stores its result): each result
carries `date_done`, stamped by the worker when the task finished, so the end time does not depend on
how often we look. We first wait for the last task of each publisher (the queue is FIFO: LPUSH, BRPOP),
then read every result with MGET (1,000 keys a call) until all are SUCCESS; a FAILURE stops the run.
The result keys, the queues and every broker key named after the run's prefix are deleted afterwards.

The ratio is ours ÷ raw (higher is better; 1.0 would be the broker limit).

Reading it: the worker keeps its database connections between tasks (CELERY_DB_REUSE_MAX, with Django's
own recycling by CONN_MAX_AGE and health checks around each task: config/celery.py); without that,
Celery's Django fix-up would open a new PostgreSQL connection for every task, the no-op included, and the
no-op rate halves. What remains per task is the broker round trips (fetch, ack), the result written to
Redis, and two log lines; those, not the broker, set the no-op rate.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import redis
from celery.utils import uuid as task_uuid
from django.conf import settings
from django.db.models import Count
from django.test import override_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, database_url, delete_redis_keys, rate_row, report, setup_django
from bench.fixtures import distributor_tree

ROOT = Path(__file__).resolve().parent.parent
PROCS = 4  # worker processes, publisher threads and raw LPUSH clients
PAYLOAD_BYTES = 1024
SCALES = {
    "tiny": {"noop": 200, "orders": 20, "distributors": 50},
    "small": {"noop": 2_000, "orders": 200, "distributors": 200},  # about 30 s at the current rates
    "full": {"noop": 50_000, "orders": 5_000, "distributors": 2_000},  # about 10 minutes
}
NOOP_TASK, INGEST_TASK = "distribution.ping", "orders.ingest"


# --- the worker --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def worker(*, database_url: str, prefix: str, log: Path, concurrency: int = PROCS, extra_env: dict | None = None):
    """A deployed worker on every queue under `prefix`, production settings; stopped on exit (also on
    Ctrl-C: it runs in a session of its own, so the terminal's SIGINT does not reach it)."""
    from config.celery import QUEUES  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE

    env = {
        **os.environ,  # the secret and PII keys the bench process uses (config/settings_test.py sets them)
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE_PREFIX": prefix,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        ",".join(prefix + q for q in QUEUES),
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "-n",
        f"{prefix}worker@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()  # warm shutdown: the main process stops its pool
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def wait_ready(process: subprocess.Popen, log: Path, *, sink: list[str], timeout: float = 90) -> None:
    """Wait for a ping's round trip (the worker is up and consuming); its task id goes to `sink`."""
    from config.celery import app  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE

    sink.append(task_uuid())
    result = app.send_task(NOOP_TASK, args=["ready"], task_id=sink[-1])
    deadline = time.monotonic() + timeout
    while not result.ready():
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not answer a ping within {timeout}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


# --- publishing and completion -----------------------------------------------------------------------------
def run_tasks(
    name: str, calls: list[dict], *, sink: list[str], threads: int = PROCS, timeout: float | None = None
) -> dict:
    """Publish one task per `calls` entry (its kwargs) from `threads` threads, wait until every one has
    succeeded; return the rate (end to end, see the module docstring) and the results in order. The task
    ids go to `sink` before anything is published (so that their results can be deleted whatever happens).
    The default timeout allows 20 tasks a second (at least two minutes)."""
    from config.celery import app  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE

    ids = [task_uuid() for _ in calls]
    sink += ids
    shares = [list(range(t, len(calls), threads)) for t in range(threads)]
    errors: list[BaseException] = []
    stop = threading.Event()  # set when the main thread is interrupted (Ctrl-C): the publishers stop too

    def publish(indexes: list[int]) -> None:
        barrier.wait()
        try:
            for i in indexes:
                if stop.is_set():
                    return
                app.send_task(name, kwargs=calls[i], task_id=ids[i])  # the AsyncResult is dropped, as the outbox does
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    publishers = [threading.Thread(target=publish, args=(share,), daemon=True) for share in shares if share]
    barrier = threading.Barrier(len(publishers) + 1)
    for p in publishers:
        p.start()
    try:
        barrier.wait()
        start = time.time()  # wall clock: compared with the worker's date_done stamps
        for p in publishers:
            p.join()
    except BaseException:
        stop.set()
        barrier.abort()
        for p in publishers:
            p.join(10)
        raise
    published = time.time()
    if errors:
        raise errors[0]
    timeout = timeout or max(120.0, len(calls) / 20)
    metas = collect(ids, last=[ids[share[-1]] for share in shares if share], timeout=timeout)
    done = max(datetime.fromisoformat(m["date_done"]).timestamp() for m in metas.values())
    seconds = done - start
    return {
        "per_s": round(len(ids) / seconds, 1),
        "n": len(ids),
        "seconds": round(seconds, 3),
        "publish_per_s": round(len(ids) / max(published - start, 1e-9), 1),
        "results": [metas[i]["result"] for i in ids],
    }


def collect(ids: list[str], *, last: list[str], timeout: float) -> dict[str, dict]:
    """Every task's result meta once all succeeded (raises on a failure or after `timeout` seconds)."""
    from config.celery import app  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE

    backend = app.backend
    deadline = time.monotonic() + timeout

    def read(chunk: list[str]) -> dict[str, dict]:
        values = backend.client.mget([backend.get_key_for_task(i) for i in chunk])
        out = {}
        for task_id, value in zip(chunk, values, strict=True):
            if value is None:
                continue
            meta = backend.decode_result(value)
            if meta["status"] in ("FAILURE", "REVOKED"):
                raise RuntimeError(f"task {task_id} failed: {meta.get('result')}\n{meta.get('traceback') or ''}")
            if meta["status"] == "SUCCESS":
                out[task_id] = meta
        return out

    while len(read(last)) < len(last):  # the queue is FIFO: when these are done, nearly all are
        if time.monotonic() > deadline:
            raise TimeoutError(f"the last tasks did not complete within {timeout}s")
        time.sleep(0.02)
    metas: dict[str, dict] = {}
    pending = list(ids)
    while pending:
        for start in range(0, len(pending), 1000):
            metas.update(read(pending[start : start + 1000]))
        pending = [i for i in pending if i not in metas]
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} of {len(ids)} tasks did not complete within {timeout}s")
            time.sleep(0.05)
    return metas


def delete_results(ids: list[str]) -> None:
    from config.celery import app  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE

    backend = app.backend
    for start in range(0, len(ids), 1000):
        backend.client.delete(*[backend.get_key_for_task(i) for i in ids[start : start + 1000]])


# --- raw -----------------------------------------------------------------------------------------------------
def raw_lpush(key: str, each: int, *, clients: int = PROCS) -> dict:
    """`clients` threads, each with its own connection, LPUSH `each` 1 KiB messages to `key`, one command a
    round trip; the list is checked and deleted afterwards."""
    message = os.urandom(PAYLOAD_BYTES // 2).hex().encode()
    connections = [redis.Redis.from_url(settings.CELERY_BROKER_URL) for _ in range(clients)]
    try:
        for connection in connections:
            connection.ping()  # connected before the clock starts
        barrier = threading.Barrier(clients + 1)

        def push(connection) -> None:
            barrier.wait()
            for _ in range(each):
                connection.lpush(key, message)

        threads = [threading.Thread(target=push, args=(c,), daemon=True) for c in connections]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
        pushed = connections[0].llen(key)
        assert pushed == clients * each, (pushed, clients * each)
    finally:
        connections[0].delete(key)
        for connection in connections:
            connection.close()
    n = clients * each
    return {"per_s": round(n / seconds, 1), "n": n, "seconds": round(seconds, 3), "message_bytes": len(message)}


# --- the data for ingest -------------------------------------------------------------------------------------
def prepare_shop(slug: str, distributors: int):
    """A merchant with a random recursive tree of active distributors (bench/fixtures.py) and a product;
    returns the merchant and the share codes of the distributors who have an inviter (each order then
    earns two commission lines under the default program: 10% to the seller, 5% to their inviter)."""
    # after setup_django(): app modules need Django's apps loaded
    from catalog.models import Product
    from distributors.models import Distributor

    merchant = distributor_tree(distributors, slug=slug)
    Product.objects.get_or_create(
        merchant=merchant, external_id="bench-tea", defaults={"title": "Bench tea 100g", "price": 6800}
    )
    codes = list(
        Distributor.objects.for_merchant(merchant)
        .filter(inviter__isnull=False)
        .order_by("id")
        .values_list("invite_code", flat=True)
    )
    return merchant, codes


def order_payloads(codes: list[str], n: int, tag: str) -> list[dict]:
    """`POST /api/v1/orders` bodies: a new customer each, coming with a distributor's share code."""
    paid_at = (datetime.now().astimezone() - timedelta(minutes=1)).replace(microsecond=0).isoformat()
    return [
        {
            "external_id": f"bench-{tag}-{i}",
            "customer_external_id": f"bench-{tag}-c{i}",
            "share_code": codes[(i * 7919) % len(codes)],
            "paid_at": paid_at,
            "items": [{"line_id": "L1", "product": "bench-tea", "quantity": 1, "unit_price": "68.00"}],
        }
        for i in range(n)
    ]


def check_orders(merchant, order_ids: list[int]) -> int:
    """Every order exists, attributed by its share code, with its two commission lines; the ledger balances.
    Returns the number of commission lines."""
    # after setup_django(): app modules need Django's apps loaded
    from commissions.models import CommissionLine
    from ledger.checks import ledger_problems
    from orders.models import Order

    orders = Order.objects.for_merchant(merchant).filter(pk__in=order_ids)
    assert orders.count() == len(set(order_ids)) == len(order_ids), (orders.count(), len(order_ids))
    assert not orders.exclude(attribution=Order.Attribution.SHARE_CODE).exists()
    per_order = (
        CommissionLine.objects.for_merchant(merchant)
        .filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(n=Count("id"), depths=Count("depth", distinct=True))
    )
    assert len(per_order) == len(order_ids) and all(r["n"] == 2 and r["depths"] == 2 for r in per_order)
    problems = ledger_problems(merchant.pk)
    assert not problems, problems[:5]
    return sum(r["n"] for r in per_order)


# --- the measurement -----------------------------------------------------------------------------------------
def measure(
    merchant,
    codes: list[str],
    *,
    noop: int,
    orders: int,
    database_url: str,
    log: Path | None = None,
    worker_env: dict | None = None,
) -> dict:
    """Start a worker, measure both task kinds and the raw LPUSH rate, check and clean up. Returns the rows
    and what was measured (ids, order ids, the prefix) for callers that check it. `worker_env` adds to
    (or overrides) the worker's environment, for experiments."""
    from config.celery import app  # after setup_django(): config.celery defaults DJANGO_SETTINGS_MODULE

    tag = uuid.uuid4().hex[:10]
    prefix = f"bench-celery-{tag}-"
    log = log or RESULTS / "celery-worker.log"
    ids: list[str] = []
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # publish as production does (send_task ignores it, but warns)
    try:
        with (
            override_settings(TASK_QUEUE_PREFIX=prefix),  # the product's router sends to the prefixed queues
            worker(database_url=database_url, prefix=prefix, log=log, extra_env=worker_env) as w,
        ):
            wait_ready(w, log, sink=ids)
            # warm-up: every publisher thread's broker connection, every pool process's first task
            run_tasks(NOOP_TASK, [{"value": "warm-up"}] * (4 * PROCS), sink=ids, timeout=60)
            ping = run_tasks(NOOP_TASK, [{"value": str(i)} for i in range(noop)], sink=ids)
            assert [r["pong"] for r in ping["results"]] == [str(i) for i in range(noop)]
            calls = [{"merchant_id": merchant.pk, "payload": p} for p in order_payloads(codes, orders, tag)]
            ingest = run_tasks(INGEST_TASK, calls, sink=ids)
            assert w.poll() is None, "the worker died"
        lines = check_orders(merchant, ingest["results"])
        raw = raw_lpush(f"{prefix}lpush", noop)  # N messages from each client
    finally:
        app.conf.task_always_eager = eager
        delete_results(ids)
        delete_redis_keys(prefix)

    def figure(r: dict) -> dict:
        return {k: r[k] for k in ("per_s", "n", "seconds", "publish_per_s")}

    rows = [
        rate_row(f"celery no-op tasks ({PROCS} procs)", figure(ping), raw, target=0.025),
        rate_row(f"celery ingest-as-task ({PROCS} procs)", figure(ingest), raw, target=None),
    ]
    return {
        "rows": rows,
        "prefix": prefix,
        "task_ids": ids,
        "pings": ping["results"],
        "order_ids": ingest["results"],
        "commission_lines": lines,
    }


def run(scale: str = "small") -> list[dict]:
    """The shop for ingest (made once per size, then reused) and the measurement at `scale`. Django must
    be set up on the bench database already (`bench.common.setup_django()`: main() and bench/run.py do)."""
    size = SCALES[scale]
    merchant, codes = prepare_shop(f"bench-celery-shop-{size['distributors']}", size["distributors"])
    return measure(merchant, codes, noop=size["noop"], orders=size["orders"], database_url=database_url())["rows"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind (and stop the worker) on SIGTERM too

    setup_django()
    rows = run(args.scale)
    report("celery", rows, {"scale": args.scale, **SCALES[args.scale], "procs": PROCS, "pool": "prefork"})


if __name__ == "__main__":
    main()
