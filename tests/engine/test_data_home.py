"""Paths have one truth: nothing absolute is stored in a data directory, so a copied one plus a
correction gives the corrected hash (not a mix with the original's tables), and a moved one builds."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from featurelock.data.ingest import ingest_sources
from featurelock.features import registration
from featurelock.features.build import build_feature_tables
from featurelock.features.lockfile import check_lock
from featurelock.features.project import Project
from featurelock.scaffold import init_project
from featurelock.training.dataset import build_training_set, raw_store

SERVICE = "return_model_v1"
CORRECTION = "2024-05-01T00:00:00Z"


def prepare(project: Project) -> None:
    ingest_sources(raw_store(project))
    rebuild(project)


def rebuild(project: Project) -> None:
    build_feature_tables(check_lock(project), raw_store(project), project.feature_tables_dir)
    registration.apply(project)


def late_visit() -> pd.DataFrame:
    """A visit learned late: c01 came on 2024-03-10 (changes visits_7d of c01 for a week)."""
    return pd.DataFrame(
        {
            "visit_id": ["late-1"],
            "event_timestamp": [pd.Timestamp("2024-03-10T12:00:00Z")],
            "customer": ["c01"],
            "amount": [10.0],
        }
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return init_project(tmp_path_factory.mktemp("p") / "tiny")


def test_copied_then_corrected_data_directory_reads_only_its_own_tables(tiny, tmp_path):
    original = Project(tiny, tmp_path / "a")
    prepare(original)
    first = build_training_set(original, SERVICE).sha256

    shutil.copytree(original.home, tmp_path / "b")
    copy = Project(tiny, tmp_path / "b")
    assert build_training_set(copy, SERVICE).sha256 == first  # a copy builds the same set

    raw_store(copy).ingest("visits", late_visit(), CORRECTION)
    rebuild(copy)
    corrected = build_training_set(copy, SERVICE)
    assert corrected.sha256 != first and corrected.manifest.as_of == "2024-05-01T00:00:00+00:00"

    fresh = Project(tiny, tmp_path / "c")  # the oracle: the same batches in a new directory
    ingest_sources(raw_store(fresh))
    raw_store(fresh).ingest("visits", late_visit(), CORRECTION)
    rebuild(fresh)
    assert build_training_set(fresh, SERVICE).sha256 == corrected.sha256  # the correction, not a mix
    assert build_training_set(original, SERVICE).sha256 == first  # the original is untouched
    assert build_training_set(copy, SERVICE, as_of="2024-04-02T00:00:00Z").sha256 == first

    shutil.move(original.home, tmp_path / "moved")
    assert build_training_set(Project(tiny, tmp_path / "moved"), SERVICE).sha256 == first


def test_registry_holds_no_absolute_path(tiny, tmp_path):
    project = Project(tiny, tmp_path / "h")
    prepare(project)
    registry = (project.home / "registry.db").read_bytes()
    assert str(tmp_path).encode() not in registry and str(tiny).encode() not in registry


@pytest.mark.slow
def test_plain_feast_reads_the_registry_featurelock_wrote(tiny, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    project = Project(tiny, tmp_path / "home")
    prepare(project)
    env = {**os.environ, "FEATURELOCK_HOME": str(project.home)}
    feast = Path(sys.executable).parent / "feast"
    out = subprocess.run(
        [str(feast), "feature-views", "list"],
        cwd=tiny / "feature_repo",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "customer_daily" in out.stdout
    assert not (tiny / "feature_repo" / "data" / "registry.db").exists()  # nothing written beside it


@pytest.mark.slow
def test_feast_ui_shows_the_registry_featurelock_wrote(tiny, tmp_path):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    from featurelock.serving.loopback import free_port

    project = Project(tiny, tmp_path / "home")
    prepare(project)
    port = free_port()
    env = {**os.environ, "FEATURELOCK_HOME": str(project.home)}
    ui = subprocess.Popen(
        [str(Path(sys.executable).parent / "feast"), "ui", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tiny / "feature_repo",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and ui.poll() is None, "feast ui did not start"
            time.sleep(0.5)
        views = httpx.get(f"{url}/api/v1/feature_views", params={"project": "tiny"}, timeout=10).json()
        assert [v["spec"]["name"] for v in views["featureViews"]] == ["customer_daily"]
    finally:
        ui.terminate()
        ui.wait(timeout=30)


def test_issue13_item1_killed_build_leaves_the_previous_generation_whole(tiny, tmp_path, monkeypatch):
    """A build that dies after writing some tables switches nothing: the next dataset build reads
    the previous generation (same hash), and the manifest names the generation it read."""
    import featurelock.features.build as build

    project = Project(tiny, tmp_path / "h")
    prepare(project)
    before = build_training_set(project, SERVICE)
    generation = before.manifest.feature_generation
    assert generation.startswith("g-") and project.feature_tables_dir.is_symlink()
    assert project.feature_tables_dir.resolve().name == generation

    raw_store(project).ingest("visits", late_visit(), CORRECTION)
    written = []

    def dying_write(frame, path):
        written.append(path)
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(build, "write_parquet", dying_write)
    with pytest.raises(KeyboardInterrupt, match="killed"):
        build_feature_tables(check_lock(project), raw_store(project), project.feature_tables_dir)
    monkeypatch.undo()
    assert written and not written[0].exists()  # it wrote aside, never at the tables' path
    assert project.feature_tables_dir.resolve().name == generation  # the link did not move
    at_first = build_training_set(project, SERVICE, as_of="2024-04-02T00:00:00Z")
    assert at_first.sha256 == before.sha256 and at_first.manifest.feature_generation == generation

    rebuild(project)  # the correction, as one new generation; the hidden leftovers are gone
    after = build_training_set(project, SERVICE)
    assert after.manifest.feature_generation not in {generation, None}
    leftovers = [p.name for p in (project.home / "feature_generations").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    rebuild(project)  # same batches, same content: the same generation name
    assert (
        build_training_set(project, SERVICE).manifest.feature_generation == after.manifest.feature_generation
    )


def test_issue13_item1_a_switch_during_a_read_is_refused(tmp_path):
    from featurelock.core.errors import DefinitionError
    from featurelock.features.generations import check_same_generation, current_generation, new_generation

    link = tmp_path / "features"
    assert current_generation(link) is None
    with new_generation(link) as folder:
        (folder / "v.parquet").write_bytes(b"one")
    first = current_generation(link)
    with new_generation(link) as folder:
        (folder / "v.parquet").write_bytes(b"two")
    assert (link / "v.parquet").read_bytes() == b"two"
    with pytest.raises(
        DefinitionError, match=rf"changed while they were being read \(generation {first} -> g-"
    ):
        check_same_generation(link, first)


def test_issue13_item3_engine_source_is_an_input_and_verify_names_environment(tiny, tmp_path, monkeypatch):
    """Before: an edit of the engine's join code was no recorded input; `dataset verify` said
    "unknown: no recorded input changed". Now manifests record the engine's version and source hash."""
    from featurelock.training import environment
    from featurelock.training.dataset import verify_training_set, write_training_set

    copy = tmp_path / "engine"
    shutil.copytree(environment.ENGINE_PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    same = environment.source_sha256(copy)
    assert same == environment.engine_source_sha256()  # the hash is of content, not of the location
    pit = copy / "stores" / "pit.py"
    pit.write_text(pit.read_text().replace("<=", "<", 1))  # the kind of edit the issue found accepted
    assert environment.source_sha256(copy) != same

    project = Project(tiny, tmp_path / "h")
    prepare(project)
    built = build_training_set(project, SERVICE)
    engine = built.manifest.environment["engine"]
    assert engine == {"version": featurelock_version(), "source_sha256": same}
    folder = write_training_set(project, built)
    monkeypatch.setattr(environment, "engine_source_sha256", lambda: "sha256:edited")
    result = verify_training_set(project, folder)
    assert result.diverged == [("environment", f"engine.source_sha256: {same!r} -> 'sha256:edited'")]


def featurelock_version() -> str:
    import featurelock

    return featurelock.__version__


def test_issue13_item13_a_data_directory_whose_path_holds_a_quote(tiny, tmp_path):
    """Before: DuckDB's SQL text broke on the apostrophe (a traceback at `dataset build`)."""
    plain = Project(tiny, tmp_path / "plain")
    prepare(plain)
    quoted = Project(tiny, tmp_path / "it's home")
    prepare(quoted)
    assert build_training_set(quoted, SERVICE).sha256 == build_training_set(plain, SERVICE).sha256
