"""deploy/kubernetes.yaml played by podman against this machine's PostgreSQL and Redis (issue 22,
item 4): `make deploy-test`. Skipped unless ``FEATURELOCK_IMAGE`` names a built image and
``FEATURELOCK_DEPLOY_TEST=1``.

The steps a cluster would take, in order: the manifest is played (the data claim becomes a volume,
the API's pod starts and is not ready: nothing is trained yet), the data directory is filled with
the image itself on the production profile (ingest, apply, train and promote), the materialize Job's
command runs, and the API becomes ready by itself and answers the example requests with the
probabilities the local profile serves (same training set, same model).
"""

from __future__ import annotations

import os
import subprocess
import time

import httpx
import pytest

from tests.conftest import REPO_ROOT, nyc

IMAGE = os.environ.get("FEATURELOCK_IMAGE", "")
MANIFEST = str(REPO_ROOT / "deploy" / "kubernetes.yaml")
SETTINGS = str(REPO_ROOT / "deploy" / "loopback.yaml")
VOLUME = "featurelock-data"  # the manifest's claim
#: What the local profile serves for the three examples (`make image-test` prints the same).
LOCAL = [0.348525655054735, 0.4073917985598745, 0.23014092143757198]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not IMAGE or os.environ.get("FEATURELOCK_DEPLOY_TEST") != "1",
        reason="`make deploy-test` sets FEATURELOCK_IMAGE and FEATURELOCK_DEPLOY_TEST=1",
    ),
]


def podman(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONTAINERS_CONF": str(REPO_ROOT / "deploy" / "containers.conf")}
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=env)


def in_image(*args: str) -> str:
    """A featurelock command in the image on the production profile, over the manifest's volume."""
    settings = ["-e", "FEATURELOCK_PROFILE=production", "-e", "FEATURELOCK_REDIS=127.0.0.1:6379"]
    done = podman("run", "--rm", "--network", "host", *settings, "-v", f"{VOLUME}:/data", IMAGE, *args)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture
def played(tmp_path):
    """The manifest as it is, but for two things a cluster has and podman on one machine has not:
    deploy/loopback.yaml's settings replace the ConfigMap (the servers on loopback), and the pod
    shares the host's network instead of publishing its port (podman's own networking is not set
    up on this machine kind)."""
    import yaml

    with open(MANIFEST) as f:
        documents = [d for d in yaml.safe_load_all(f) if d["kind"] != "ConfigMap"]
    for document in documents:
        if document["kind"] == "Deployment":
            pod = document["spec"]["template"]["spec"]
            pod["hostNetwork"] = True
            for container in pod["containers"]:
                container.pop("ports", None)
    with open(SETTINGS) as f:
        documents.insert(0, yaml.safe_load(f))
    manifest = tmp_path / "kubernetes.loopback.yaml"
    manifest.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    podman("kube", "down", str(manifest))
    podman("volume", "rm", "-f", VOLUME)
    done = podman("kube", "play", str(manifest))
    assert done.returncode == 0, done.stderr
    yield
    podman("kube", "down", str(manifest))
    podman("volume", "rm", "-f", VOLUME)


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_manifest_serves_the_production_profile_once_trained(played):
    url = "http://127.0.0.1:8000"
    time.sleep(5)
    assert not ready(url)  # nothing trained yet: the readiness probe keeps traffic away
    in_image("ingest")
    in_image("apply")
    in_image("train", "--service", "delay_model_v1", "--promote")
    at = nyc().examples.at
    in_image("materialize", "--end", at)  # the materialize Job's command, up to the examples' time
    deadline = time.monotonic() + 180
    while not ready(url) and time.monotonic() < deadline:
        time.sleep(2)  # the API's container restarts by itself until a run is promoted
    assert ready(url)
    served = []
    for example in nyc().examples.requests:
        reply = httpx.post(f"{url}/predict", json=example, timeout=30)
        assert reply.status_code == 200, reply.text
        served.append(reply.json()["probability"])
    assert served == LOCAL
