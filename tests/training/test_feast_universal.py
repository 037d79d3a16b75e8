"""Feast's own ``test_universal_historical_retrieval.py``, from Feast's sources, against our stores.

Feast's wheel ships no tests, and its sources cannot be part of this repository: the lane runs when
``FEAST_SOURCES`` names Feast's sources (a git directory holding ``FEAST_TESTS_COMMIT``, or a
checkout with ``sdk/python/tests``); ``.ci/run`` sets it where a snapshot of Feast's repository lies
on the machine, and skips it (saying so) elsewhere. Each store runs Feast's file in a subprocess
(Feast's tests import a top-level package named ``tests``, as ours do) with our plugin
``tests/feast_universal/featurelock_universal.py``; the outcome of every test on our DuckDB store
and on our Spark store must equal its outcome on Feast's own DuckDB store, run the same way
beside it, and every test Feast's store passes must pass on ours. The Spark store's run (45 s of
a Spark session) belongs to ``make test-feast-universal`` (``FEATURELOCK_UNIVERSAL_SPARK=1``); in
``make test`` the Spark store meets the same cases ported in ``test_feast_dropin.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from io import BytesIO
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocesses
# The newest commit of Feast's sources at hand (after 0.66.0, before 0.67.0, the lock's version: its
# sources are not in the snapshot). Feast's test file there passes on Feast 0.67.0's DuckDB store.
FEAST_TESTS_COMMIT = "f0bc0700be7029166e6605e407de6d229cd1e93e"
TEST_FILE = "tests/integration/offline_store/test_universal_historical_retrieval.py"
PLUGIN_DIR = Path(__file__).resolve().parents[1] / "feast_universal"
STORE_ID = r"ParameterSet\(values=\(LOCAL:\w+SourceCreator:[^)]*\).*?id=None\)"  # the config's id
EXPECTED_PASSES = 15  # of Feast's 18 cases: 2 skip (SQL entity queries), 1 fails on Feast's store too


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, timeout=120
    ).stdout


@pytest.fixture(scope="module")
def feast_tests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Feast's ``sdk/python`` test tree, taken out of ``FEAST_SOURCES`` at ``FEAST_TESTS_COMMIT``."""
    sources = os.environ.get("FEAST_SOURCES")
    if not sources:
        pytest.skip("FEAST_SOURCES is not set: Feast's test sources are not on this machine")
    root = Path(sources)
    if (root / "sdk/python/tests").is_dir():
        return root / "sdk/python"
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{FEAST_TESTS_COMMIT}^{{commit}}").strip()
    assert commit.decode() == FEAST_TESTS_COMMIT, f"{root} does not hold Feast commit {FEAST_TESTS_COMMIT}"
    out = tmp_path_factory.mktemp("feast-sources")
    archive = _git(root, "archive", "--format=tar", FEAST_TESTS_COMMIT, "sdk/python/tests")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(out, filter="data")
    return out / "sdk/python"


def run_feast_file(sdk: Path, store: str, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Run Feast's file against ``store``: ``{test (store's name taken out): (outcome, message)}``."""
    report = tmp_path / f"{store}.xml"
    env = {
        **os.environ,
        "FEATURELOCK_UNIVERSAL_STORE": store,
        "FULL_REPO_CONFIGS_MODULE": "featurelock_universal",
        "FEAST_IS_LOCAL_TEST": "True",
        "PYTHONPATH": os.pathsep.join([str(PLUGIN_DIR), str(sdk)]),
    }
    plugins = ["-p", "featurelock_universal", "-p", "no:cacheprovider"]
    pytest_args = ["-c", os.devnull, "--rootdir", str(sdk), *plugins, "-W", "ignore::DeprecationWarning"]
    pytest_args += ["--integration", "-q", f"--junitxml={report}", TEST_FILE]
    subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args],
        cwd=sdk,
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = re.sub(STORE_ID, "store", case.get("name", ""))
        found = [c for c in case if c.tag in ("failure", "error", "skipped")]
        outcome = found[0].tag if found else "passed"
        outcomes[name] = (outcome, found[0].get("message", "") if found else "")
    return outcomes


@pytest.fixture(scope="module")
def feast_duckdb(feast_tests: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    return run_feast_file(feast_tests, "feast-duckdb", tmp_path_factory.mktemp("feast-duckdb"))


NON_ENTITY = "test_historical_features_non_entity_retrieval[store]"


def check_like_feasts_store(ours: dict, feasts: dict) -> None:
    assert sorted(ours) == sorted(feasts) and len(ours) == 18
    differ = {t: (ours[t][0], feasts[t][0]) for t in sorted(ours) if ours[t][0] != feasts[t][0]}
    assert differ == {}
    assert sum(o == "passed" for o, _ in ours.values()) == EXPECTED_PASSES
    # The one failure on both: retrieval by a date range with no entity frame (Feast's non-entity
    # mode, a Dask-store feature). Feast's DuckDB store fails on an unexpected argument; ours
    # refuses it in its own words.
    assert ours[NON_ENTITY][0] == "failure"
    assert "entity_df is None" in ours[NON_ENTITY][1] and "start_date" in ours[NON_ENTITY][1]


def test_issue20_feasts_universal_retrieval_tests_pass_on_our_duckdb_store_as_on_feasts(
    feast_tests, feast_duckdb, tmp_path
):
    ours = run_feast_file(feast_tests, "featurelock-duckdb", tmp_path)
    check_like_feasts_store(ours, feast_duckdb)
    for case in ("test_odfv_projection", "test_historical_features_persisting"):  # named by the issue
        assert all(ours[t][0] == "passed" for t in ours if t.startswith(case + "["))


@pytest.mark.spark
@pytest.mark.skipif(
    os.environ.get("FEATURELOCK_UNIVERSAL_SPARK") != "1",
    reason="the Spark store's run of Feast's file (45 s) is `make test-feast-universal`'s, not make test's",
)
def test_issue20_feasts_universal_retrieval_tests_pass_on_our_spark_store_as_on_feasts(
    feast_tests, feast_duckdb, tmp_path
):
    check_like_feasts_store(run_feast_file(feast_tests, "featurelock-spark", tmp_path), feast_duckdb)
