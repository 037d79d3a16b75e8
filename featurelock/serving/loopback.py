"""Serve a project on a free loopback port for a moment and send it its example requests."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

from featurelock.core.errors import FeaturelockError, StoreUnavailableError
from featurelock.core.settings import Profile
from featurelock.features.project import Project
from featurelock.serving.log import log_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_examples(
    project: Project, profile: Profile = Profile.LOCAL, run: str | None = None
) -> tuple[list[tuple[dict, dict]], Path]:
    """Start the API for ``run`` (default: the promoted one), post each of the project's examples
    to ``/predict``; return (request, receipt) pairs and the prediction log the service wrote."""
    import httpx
    import uvicorn

    from featurelock.serving.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(project, run, profile), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    answers: list[tuple[dict[str, Any], dict[str, Any]]] = []
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            raise StoreUnavailableError(f"The API on {url} did not become healthy within 30 s.")
        for example in project.examples.requests:
            reply = httpx.post(f"{url}/predict", json=example, timeout=30)
            if reply.status_code != 200:
                raise FeaturelockError(f"/predict answered {reply.status_code} to {example}: {reply.text}")
            answers.append((dict(example), reply.json()))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return answers, log_path(project.home, profile)
