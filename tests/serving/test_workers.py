"""`featurelock serve --workers N`: several processes answer, and the one prediction log stays whole."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from featurelock.serving.log import log_path, read_log
from tests.conftest import REPO_ROOT, nyc

pytestmark = pytest.mark.slow


def test_two_workers_serve_and_log_every_prediction_once(served_home):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = log_path(nyc().home, "local")
    before = len(read_log(log)) if log.exists() else 0
    featurelock = Path(sys.executable).parent / "featurelock"
    server = subprocess.Popen(
        [str(featurelock), "serve", "--workers", "2", "--port", str(port), "--project", str(REPO_ROOT)],
        env={**os.environ, "FEATURELOCK_HOME": str(served_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.communicate()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        flights = [dict(r) for r in nyc().examples.requests]
        body = [{**flights[i % len(flights)], "flight_id": f"w{i}"} for i in range(60)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(lambda b: httpx.post(f"{url}/predict", json=b, timeout=30), body))
        assert [r.status_code for r in replies] == [200] * 60
    finally:
        server.terminate()
        server.wait(timeout=30)
    receipts = read_log(log)
    assert len(receipts) == before + 60
    served = sorted(r["id"] for r in receipts if str(r["id"]).startswith("w"))
    assert served == sorted(f"w{i}" for i in range(60))  # each once: none lost, none doubled
    for line in log.read_text().splitlines():
        json.loads(line)
