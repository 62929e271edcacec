"""The real server, for the benchmarks that go through HTTP (ingest, the network API): gunicorn serving
`config.wsgi` with the production settings (`config.settings`, DEBUG off, a random secret key, JSON logs,
access log) on a free port, with a Celery queue prefix and a cache key prefix of its own whose Redis keys
are deleted afterwards. The throttle stays on but its merchant rate is raised (THROTTLE_RATE_MERCHANT),
or the default 6,000/min would be what is measured."""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings  # lazy: read when a server starts, after setup_django()

from bench.common import RESULTS, ROOT, delete_redis_keys

# one process per core; the threads overlap one request's database waits with another's Python, and
# keep-alive works, unlike the sync worker (2 or 4 sync workers measured the same within the noise)
GUNICORN_WORKERS, GUNICORN_THREADS = 2, 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


@contextlib.contextmanager
def server(
    db_url: str,
    *,
    workers: int = GUNICORN_WORKERS,
    threads: int = GUNICORN_THREADS,
    worker_class: str = "gthread",
    log_path: Path | None = None,
):
    """gunicorn with the production settings on a free port; yields the base URL. Stopped (and its
    Redis keys deleted) on the way out, whatever happens, Ctrl-C included. Its output goes to
    `log_path` (default bench/results/ingest-server.log)."""
    port = _free_port()
    token = uuid.uuid4().hex[:12]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # the keys the data was written with (ingest reads no personal data, but the server must start)
        "PII_ENCRYPTION_KEYS": ",".join(settings.PII_ENCRYPTION_KEYS),
        "PII_HASH_KEY": settings.PII_HASH_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": db_url,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE_PREFIX": f"bench-ingest-{token}-",
        "CACHE_KEY_PREFIX": f"bench-ingest-{token}",
        "THROTTLE_RATE_MERCHANT": "1000000/min",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        worker_class,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "5",
        "--no-control-socket",  # gunicorn 27 would otherwise share ~/.gunicorn/gunicorn.ctl with any other
    ]
    if log_path is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        log_path = RESULTS / "ingest-server.log"
    log = open(log_path, "w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start (exit {process.poll()}); see {log_path}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)
        log.close()
        delete_redis_keys(token)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the arbiter stops its workers
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
