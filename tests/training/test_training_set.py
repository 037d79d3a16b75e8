"""Training sets on the real data: parity with Feast's store, determinism, leakage, as-of replay."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta

import pandas as pd
import pytest

from featurelock.core.errors import NotFoundError, ValidationError
from featurelock.data.store import RawStore
from featurelock.features import feast_repo, registration
from featurelock.features.build import build_feature_tables
from featurelock.features.catalog import discover
from featurelock.features.lockfile import check_lock
from featurelock.features.plan import resolve
from featurelock.stores.duckdb_join import point_in_time_join
from featurelock.stores.retrieval import AS_OF_COLUMN, view_requests
from featurelock.training.dataset import (
    build_training_set,
    canonicalize,
    read_manifest,
    verify_training_set,
    write_training_set,
)
from featurelock.training.population import build_population
from tests.conftest import INITIAL_KNOWLEDGE_TIME, nyc, nyc_module

pytestmark = pytest.mark.slow
ID, TS = "flight_id", "event_timestamp"
ENTITY_KEYS = ("origin", "dest", "carrier", "tailnum")
SERVICE = "delay_model_v1"
K2 = pd.Timestamp("2014-02-01T00:00:00Z")

_SOURCES = nyc_module("features/sources.py")
nycflights_batches = _SOURCES.nycflights_batches


@pytest.fixture(scope="module")
def reference(real_home):
    return build_training_set(nyc(), SERVICE)


def entity_sample(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    project = nyc()
    spec = check_lock(project).population("nyc_departures_2013@v1")
    store = RawStore(project.raw_dir, project.sources)
    population = build_population(project, spec, INITIAL_KNOWLEDGE_TIME, store).sample(n, random_state=seed)
    entity = population[[ID, TS, *ENTITY_KEYS]].copy()
    entity[AS_OF_COLUMN] = pd.Series(
        [INITIAL_KNOWLEDGE_TIME] * len(entity), dtype="datetime64[ns, UTC]", index=entity.index
    )
    return population, entity


def test_reference_training_set_shape(reference):
    frame = reference.frame
    assert len(frame) == 328_521  # 336,776 flights - 8,255 cancelled
    assert frame[ID].is_monotonic_increasing and frame[ID].is_unique
    service = nyc().service(SERVICE)
    catalog = discover(nyc())
    expected_features = [catalog.spec(r).column for r in (*service.features, *service.request_features)]
    assert list(frame.columns) == [ID, TS, *ENTITY_KEYS, "label", *expected_features]
    assert str(frame["plane_seats_v1"].dtype) == "Int64"  # a nullable integer stays one
    assert frame["plane_seats_v1"].isna().sum() > 0  # unknown and null tailnums
    assert reference.manifest.as_of == INITIAL_KNOWLEDGE_TIME.isoformat()


def test_store_parity_with_feasts_duckdb_store_on_20000_flights(real_home, monkeypatch):
    monkeypatch.chdir(real_home)  # Feast's own store reads relative source paths from here
    population, entity = entity_sample(20_000)
    service = nyc().service(SERVICE)
    catalog = discover(nyc())
    frames = {}
    for offline in ("featurelock", "feast-duckdb"):
        fs = feast_repo.feature_store(nyc(), offline=offline)
        retrieved = fs.get_historical_features(entity, features=fs.get_feature_service(SERVICE)).to_df()
        frames[offline] = canonicalize(retrieved, population, resolve(catalog, service))
    ours, theirs = frames["featurelock"], frames["feast-duckdb"]
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert ours.drop(columns=[ID, TS, *ENTITY_KEYS, "label"]).notna().to_numpy().mean() > 0.9


def test_two_builds_and_thread_counts_give_the_same_hash(reference):
    assert build_training_set(nyc(), SERVICE, threads=1).sha256 == reference.sha256
    assert build_training_set(nyc(), SERVICE, threads=2).sha256 == reference.sha256


def test_hash_is_the_same_across_hash_seeds_in_subprocesses(reference, real_home, tmp_path):
    hashes = []
    for seed in ("4242",):  # the in-process reference ran under another (random) hash seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "FEATURELOCK_HOME": str(real_home)}
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "featurelock",
                "dataset",
                "build",
                "--service",
                SERVICE,
                "--out",
                str(tmp_path / seed),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr
        hashes.append(re.search(r"sha256    (sha256:[0-9a-f]{64})", out.stdout).group(1))
    assert hashes == [reference.sha256]


def test_hash_is_the_same_after_reingesting_shuffled_raw_rows(reference, tmp_path, use_home):
    home = use_home(tmp_path / "shuffled")
    store = RawStore(home / "raw", nyc().sources)
    for i, (table, frame) in enumerate(reversed(nycflights_batches())):
        store.ingest(table, frame.sample(frac=1, random_state=i), INITIAL_KNOWLEDGE_TIME)
    build_feature_tables(check_lock(nyc()), store, home / "features")
    registration.apply(nyc())
    assert build_training_set(nyc(), SERVICE).sha256 == reference.sha256


def test_no_feature_value_comes_from_the_future_or_beyond_ttl(real_home):
    _population, entity = entity_sample(50_000, seed=11)
    fs = feast_repo.feature_store(nyc())
    service = fs.get_feature_service(SERVICE)
    views = [fs.get_feature_view(p.name) for p in service.feature_view_projections]
    refs = [f"{p.name}:{f.name}" for p in service.feature_view_projections for f in p.features]
    requests = view_requests(fs.config, views, refs, full_names=False)
    table = point_in_time_join(entity, requests, as_of=INITIAL_KNOWLEDGE_TIME, value_timestamps=True)
    checked = 0
    for req in requests:
        stamps = table[f"__ts__{req.name}"]
        used = stamps.notna()
        assert (stamps[used] <= table.loc[used, TS]).all(), req.name
        if req.ttl > timedelta(0):
            assert (stamps[used] >= table.loc[used, TS] - req.ttl).all(), req.name
        checked += int(used.sum())
    assert checked > 200_000


def test_as_of_replay_ignores_a_later_correction(reference, real_home, tmp_path, use_home):
    home = use_home(tmp_path / "corrected")
    shutil.copytree(real_home / "raw", home / "raw")
    shutil.copytree(real_home / "features", home / "features")
    registration.apply(nyc())
    manifest_dir = write_training_set(nyc(), reference, tmp_path / "v1")
    store = RawStore(home / "raw", nyc().sources)
    weather = store.read("weather")
    fix = weather[(weather["origin"] == "JFK") & (weather["event_timestamp"].dt.month == 6)].copy()
    fix["temp"] = fix["temp"] + 10.0
    store.ingest("weather", fix.drop(columns=["created_timestamp"]), K2)
    build_feature_tables(check_lock(nyc()), store, home / "features")

    replay = build_training_set(nyc(), SERVICE, as_of=INITIAL_KNOWLEDGE_TIME)
    assert replay.sha256 == reference.sha256
    latest = build_training_set(nyc(), SERVICE)
    assert latest.manifest.as_of == K2.isoformat()
    assert latest.sha256 != reference.sha256
    verified = verify_training_set(nyc(), manifest_dir)
    assert verified.identical and verified.diverged == []


def test_verify_names_source_data_when_raw_rows_are_edited_behind_the_store(
    reference, real_home, tmp_path, use_home
):
    home = use_home(tmp_path / "tampered")
    shutil.copytree(real_home / "raw", home / "raw")
    shutil.copytree(real_home / "features", home / "features")
    registration.apply(nyc())
    manifest_dir = write_training_set(nyc(), reference, tmp_path / "v1")
    path = next((home / "raw" / "planes").glob("k*.parquet"))
    planes = pd.read_parquet(path)
    planes.loc[planes["tailnum"] == "N10156", "seats"] = 56
    planes.to_parquet(path, index=False)  # edited in place, same name: the store did not see it
    build_feature_tables(check_lock(nyc()), RawStore(home / "raw", nyc().sources), home / "features")
    verified = verify_training_set(nyc(), manifest_dir)
    assert not verified.identical
    stages = {stage for stage, _ in verified.diverged}
    assert stages == {"source data"}
    assert any(change.startswith("raw.planes") for _, change in verified.diverged)
    assert read_manifest(manifest_dir).content_sha256 == reference.sha256


def test_bad_requests_fail_before_any_work(real_home):
    with pytest.raises(NotFoundError, match=r"service='delay_model_v9' is not a feature service"):
        build_training_set(nyc(), "delay_model_v9")
    with pytest.raises(ValidationError, match=r"as_of='2014-01-02' is naive"):
        build_training_set(nyc(), SERVICE, as_of="2014-01-02")
    fs = feast_repo.feature_store(nyc())
    _, entity = entity_sample(10)
    with pytest.raises(Exception, match=r"Feature no_such_feature not found in projection carrier_stats"):
        fs.get_historical_features(entity, features=["carrier_stats:no_such_feature"]).to_df()
