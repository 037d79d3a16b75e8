"""The spark profile on a Spark standalone cluster (issue 22, item 5): a master and two workers,
each its own JVM on loopback, started with the pyspark distribution's own launcher
(``bin/spark-class``). The feature tables (the generation) and the training set built through the
cluster equal the local profile's. What crosses to the executors here and not in ``local[2]``:
the raw tables and entity rows (serialized to other JVMs), and the Python of the tie-break (the
executors start the interpreter ``spark.pyspark.python`` names: this one, set explicitly).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.training.dataset import build_training_set
from tests.conftest import REPO_ROOT
from tests.engine.test_data_home import prepare

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spark_env() -> dict[str, str]:
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(``spark://127.0.0.1:<port>``, the workers' work dirs): two workers of one core each; stopped
    afterwards."""
    import pyspark

    spark_class = str(Path(pyspark.__file__).parent / "bin" / "spark-class")
    base = tmp_path_factory.mktemp("cluster")
    port, ui = free_port(), free_port()
    processes = []
    logs = []

    def start(name: str, *args: str) -> None:
        log = (base / f"{name}.log").open("w")
        logs.append(log)
        processes.append(
            subprocess.Popen([spark_class, *args], env=spark_env(), stdout=log, stderr=subprocess.STDOUT)
        )

    start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
          "--webui-port", str(ui))  # fmt: skip
    for i in (1, 2):
        start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
              "--memory", "1g", "--webui-port", str(free_port()), "--work-dir", str(base / f"work{i}"),
              f"spark://127.0.0.1:{port}")  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        alive = 0
        while time.monotonic() < deadline and alive < 2:
            time.sleep(1)
            try:
                alive = int(
                    httpx.get(f"http://127.0.0.1:{ui}/json/", timeout=2).json().get("aliveworkers", 0)
                )
            except (httpx.HTTPError, ValueError):
                alive = 0
        assert alive == 2, (base / "master.log").read_text()[-2000:]
        yield f"spark://127.0.0.1:{port}", [base / "work1", base / "work2"]
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()


def featurelock(root: Path, home: Path, master: str, *args: str) -> str:
    env = {**spark_env(), "FEATURELOCK_HOME": str(home), "FEATURELOCK_SPARK_MASTER": master}
    env.pop("FEATURELOCK_PROFILE", None)
    script = str(Path(sys.executable).with_name("featurelock"))
    done = subprocess.run([script, *args, "--project", str(root)], env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_spark_profile_on_a_standalone_cluster_equals_the_local_profile(cluster, tmp_path):
    master, work_dirs = cluster
    root = init_project(tmp_path / "shop")
    spark_yaml = (REPO_ROOT / "feature_repo" / "feature_store.spark.yaml").read_text()
    (root / "feature_repo" / "feature_store.spark.yaml").write_text(
        spark_yaml.replace("project: nycflights13", "project: shop")
    )
    local = Project(root, tmp_path / "home-local")  # the local profile, in process
    prepare(local)
    expected = ((local.home / "features").resolve().name, build_training_set(local, "return_model_v1").sha256)
    home = tmp_path / "home-cluster"  # the spark profile through the cluster, as a user runs it
    featurelock(root, home, master, "ingest")
    featurelock(root, home, master, "apply", "--profile", "spark")  # the feature tables, then Feast
    out = featurelock(
        root, home, master, "dataset", "build", "--service", "return_model_v1", "--profile", "spark"
    )
    found = ((home / "features").resolve().name, re.search(r"sha256    (sha256:[0-9a-f]{64})", out).group(1))
    assert found == expected and expected[0].startswith("g-")
    # the work ran in the workers' executors: each application leaves a folder in each worker's dir
    apps = [sorted(p.name for p in d.glob("app-*")) for d in work_dirs]
    assert all(len(names) == 2 for names in apps), apps  # `apply` and `dataset build`, on both workers
