"""`make run`, for real: the embedded PostgreSQL and Redis start, the app migrates and seeds, web +
worker + beat serve, /readyz answers, and Ctrl-C stops everything."""

from __future__ import annotations

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


def test_make_run_serves_the_demo_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.pop("DJANGO_DEBUG", None)
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "scripts/devstack.py", "--data-dir", str(tmp_path / "data"), "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 240
            status = None
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    status, body = get(f"{base}/readyz")
                    if status == 200:
                        break
                except OSError:
                    pass
                time.sleep(1)
            output = log_path.read_text()
            assert status == 200, output[-3000:]
            assert b'"broker": "ok"' in body and b'"migrations": "ok"' in body

            assert get(f"{base}/api/docs/")[0] == 200
            assert get(f"{base}/api/schema/")[0] == 200
            assert get(f"{base}/admin/login/")[0] == 200
            key = re.search(r"server API key \(admin role\): (\S+)", output).group(1)
            status, body = get(f"{base}/api/v1/products", {"X-Api-Key": key})
            assert status == 200 and b"tea-001" in body
            # the real server: no version in its banner, API answers private, pages under a CSP
            with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/me", headers={"X-Api-Key": key})) as r:
                assert r.headers["Server"] == "gunicorn" and r.headers["Cache-Control"] == "no-store"
            with urllib.request.urlopen(f"{base}/admin/login/") as r:
                assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        finally:
            process.send_signal(signal.SIGINT)
            try:
                exit_code = process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    output = log_path.read_text()
    assert exit_code == 0, output[-3000:]
    assert "stopping embedded PostgreSQL" in output
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left behind: {leftovers}"
