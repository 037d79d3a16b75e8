"""The container image runs what the host runs (issue 22): `make image-test`.

Skipped unless ``FEATURELOCK_IMAGE`` names a built image (``make image`` builds ``featurelock:<version>``;
``make image-test`` sets it). Inside the image, `featurelock demo` on a fresh volume gives the
nycflights13 golden hash, reproduces exactly and finds 0 mismatches; `featurelock serve` in the
container answers the project's example requests with the same receipts, to the bit, as the host's
service over a copy of the same data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, nyc

IMAGE = os.environ.get("FEATURELOCK_IMAGE", "")
GOLDEN = "sha256:3ba10ddcfdce3c3c0dcf6b081b73f337904346d4d7ea61a6a0c7a196f247f329"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not IMAGE, reason="FEATURELOCK_IMAGE is unset: `make image-test` builds and sets it"),
]


def podman(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONTAINERS_CONF": str(REPO_ROOT / "deploy" / "containers.conf")}
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not become healthy in {seconds} s")


@pytest.fixture(scope="module")
def volume():
    name = f"featurelock-test-{uuid.uuid4().hex[:8]}"
    assert podman("volume", "create", name).returncode == 0
    yield name
    podman("volume", "rm", "-f", name)


@pytest.fixture(scope="module")
def demo(volume) -> str:
    done = podman("run", "--rm", "--network", "none", "-v", f"{volume}:/data", IMAGE, "demo")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_demo_in_the_image_gives_the_golden_hash(demo):
    hashes = [line.split()[-1] for line in demo.splitlines() if line.strip().startswith("sha256    ")]
    assert hashes == [GOLDEN, GOLDEN]
    print(f"inside the image: training set {hashes[0]}")  # `make image-test` shows it (-s)
    assert "reproduced exactly" in demo
    assert demo.count("0 mismatches") == 4 and "Demo complete" in demo


def test_the_image_serves_the_same_receipts_as_the_host(demo, volume, tmp_path):
    mount = podman("volume", "inspect", "--format", "{{.Mountpoint}}", volume).stdout.strip()
    host_home = tmp_path / "data"
    shutil.copytree(mount, host_home)  # a copied data directory serves the same (no absolute paths)
    inside, outside = free_port(), free_port()
    container = f"featurelock-serve-{uuid.uuid4().hex[:8]}"
    started = podman(
        "run", "-d", "--rm", "--name", container, "--network", "host", "-v", f"{volume}:/data", IMAGE,
        "serve", "--host", "127.0.0.1", "--port", str(inside),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    env = {**os.environ, "FEATURELOCK_HOME": str(host_home)}
    env.pop("FEATURELOCK_API_TOKEN", None)
    script = str(Path(sys.executable).with_name("featurelock"))
    host = subprocess.Popen(
        [script, "serve", "--project", str(REPO_ROOT), "--host", "127.0.0.1", "--port", str(outside)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{inside}")
        wait_healthy(f"http://127.0.0.1:{outside}")
        examples = nyc(host_home).examples.requests
        assert len(examples) == 3
        for example in examples:
            a = httpx.post(f"http://127.0.0.1:{inside}/predict", json=example, timeout=30)
            b = httpx.post(f"http://127.0.0.1:{outside}/predict", json=example, timeout=30)
            assert a.status_code == b.status_code == 200, a.text + b.text
            assert a.json() == b.json()  # the whole receipt: probability, features, run, fingerprints
            print(f"{json.dumps(example)}: P = {a.json()['probability']!r} in the image and on the host")
    finally:
        host.terminate()
        host.wait(timeout=30)
        podman("stop", "-t", "5", container)
