"""What the serving benchmarks share: a free loopback port, waiting for a server, and a concrete
feature_store.yaml for `feast serve` (the profile's, settings filled in)."""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

from featurelock.features.project import Project


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, path: str = "/health", timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


def feast_yaml(project: Project, profile: str) -> Path:
    import yaml

    from featurelock.features.feast_repo import raw_config

    path = Path(tempfile.mkdtemp()) / "feature_store.yaml"
    path.write_text(yaml.safe_dump(raw_config(project, profile)))
    return path
