"""`make run`, for real: the embedded PostgreSQL and Redis start, the app migrates and seeds, web +
worker + beat serve, the README's walkthrough runs against them, and Ctrl-C stops everything in order."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import walkthrough

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_make_run_serves_the_demo_walks_the_readme_and_stops_cleanly(tmp_path):
    """One `make run` for three things: what it serves and prints, the README's walkthrough (its own
    commands, every `# → …` checked), and Ctrl-C stopping web, worker and beat before Redis and PostgreSQL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.pop("DJANGO_DEBUG", None)
    data_dir = tmp_path / "data"
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "scripts/devstack.py", "--data-dir", str(data_dir), "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives it: Ctrl-C goes to the group
        )
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and process.poll() is None and "Press Ctrl-C" not in log_path.read_text():
                time.sleep(1)
            output = log_path.read_text()
            assert "Press Ctrl-C to stop everything." in output, output[-3000:]
            block = output[output.index("Ready: web, worker and beat are up") :]
            base = f"http://127.0.0.1:{port}"
            for line in (f"home         {base}/", f"API docs     {base}/api/docs", f"admin        {base}/admin/"):
                assert line in block
            for who in ("demo owner", "demo admin", "demo finance", "demo operator", "demo viewer"):
                assert re.search(rf"  {who} +demo-\w+ +[0-9a-f]{{16}}", block), who
            keys = {" ".join(k.split()): v for k, v in re.findall(r"  (quick +\w+) +(\S+\.\S+)", block)}
            assert sorted(keys) == [
                "quick admin",
                "quick finance",
                "quick operator",
                "quick viewer",
            ]

            status, body = get(f"{base}/readyz")
            assert status == 200 and b'"broker": "ok"' in body and b'"migrations": "ok"' in body
            assert get(f"{base}/")[0] == 200 and get(f"{base}/api/docs")[0] == 200
            assert get(f"{base}/admin/login/")[0] == 200
            status, body = get(f"{base}/api/schema?format=json")
            assert status == 200 and json.loads(body)["info"]["title"] == "Distribution backend API"
            status, body = get(f"{base}/api/v1/products", {"X-Api-Key": keys["quick operator"]})
            assert status == 200 and b"pot-1" in body
            # the real server: no version in its banner, API answers private, pages under a CSP
            request = urllib.request.Request(f"{base}/api/v1/me", headers={"X-Api-Key": keys["quick viewer"]})
            with urllib.request.urlopen(request) as r:
                assert r.headers["Server"] == "gunicorn" and r.headers["Cache-Control"] == "no-store"
            with urllib.request.urlopen(f"{base}/admin/login/") as r:
                assert "script-src 'self'" in r.headers["Content-Security-Policy"]

            walk = walkthrough.run(data_dir, workdir=tmp_path)
            assert walk.returncode == 0, walk.stdout[-2000:] + walk.stderr[-3000:]
            assert walk.stdout.count("ok ") == walk.stdout.count("\n") >= 20
        finally:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
            try:
                exit_code = process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    output = log_path.read_text()
    assert exit_code == 0, output[-3000:]
    tail = output[output.index("stopping web, worker and beat") :]
    order = [tail.index(step) for step in ("web, worker and beat stopped", "stopping embedded Redis")]
    order.append(tail.index("stopping embedded PostgreSQL"))
    assert order == sorted(order), tail[-2000:]
    assert output.rstrip().endswith("[devstack] everything stopped")
    # the worker and beat stopped before Redis did: no wall of connection errors
    assert "Connection refused" not in tail and "Error 111" not in tail, tail[-2000:]
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left behind: {leftovers}"

    # make manage: the same embedded services and settings (the secret key, so the personal-data keys)
    def manage(*args):
        command = [sys.executable, "scripts/devstack.py", "--data-dir", str(data_dir), "manage", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)

    checked = manage("check_ledger")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    phone = manage(
        "shell",
        "-c",
        "from distribution import crypto, rls; from distributors.models import Distributor; rls.process_bypass(); "
        "print(crypto.decrypt(Distributor.objects.unscoped().get(external_user_id='wx-001').phone_encrypted))",
    )
    assert phone.returncode == 0 and "13900000001" in phone.stdout.splitlines(), phone.stdout + phone.stderr
