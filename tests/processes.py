"""Real processes for tests: a Celery worker against the real Redis and the test database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.common import database_url, delete_redis_keys

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The test database this run created, as the role the suite connects as (the application's)."""
    return database_url()


@contextlib.contextmanager
def celery_worker(*, queues: str | None = None, concurrency: int = 1, extra_env: dict | None = None):
    """Start `celery worker` on a queue of its own; yield (process, queue). Stopped (SIGTERM) on exit.

    The worker runs what it is sent; tasks it queues itself run inline (eager), as in the test process.
    """
    queue = queues or f"test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": test_database_url(),
        **(extra_env or {}),
    }
    log = open(ROOT / ".data" / f"worker-{queue}.log", "w") if (ROOT / ".data").is_dir() else subprocess.DEVNULL
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "-n",
            f"{queue.split(',')[0]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process, queue
    finally:
        if process.poll() is None:
            process.terminate()  # warm shutdown: the main process stops its pool itself
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if log is not subprocess.DEVNULL:
            log.close()
        for own in (q for q in queue.split(",") if q.startswith("test-")):  # its queues and kombu's bindings
            delete_redis_keys(own)


def wait_until(predicate, timeout: float = 30, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


@contextlib.contextmanager
def celery_deployment(*, concurrency: int = 1, extra_env: dict | None = None):
    """A worker as deployed: it consumes every queue and publishes what it queues to the broker (not
    eager), under a queue prefix of its own so nothing else on the broker sees this test's tasks.
    Yields (process, prefix); send to f"{prefix}<queue>"."""
    from config.celery import QUEUES

    prefix = f"test-{uuid.uuid4().hex[:10]}-"
    env = {"CELERY_QUEUE_PREFIX": prefix, "CELERY_TASK_ALWAYS_EAGER": "false", **(extra_env or {})}
    with celery_worker(queues=",".join(prefix + q for q in QUEUES), concurrency=concurrency, extra_env=env) as (
        process,
        _,
    ):
        yield process, prefix
