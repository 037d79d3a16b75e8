"""Benchmark: a feature store that lives in time: batch after batch, each followed by an
incremental ``features build`` and ``materialize``, against a one-shot build in the same run.

Series (each in its own subprocess, so its peak memory is its own):
  one-shot   the whole year ingested as one batch, one full build (the baseline of every ratio)
  declared   nycflights13 as it is (no feature declares a lookback: each new knowledge time
             recomputes every view whole, but knowledge times already built are never redone)
  lookback   a copy of nycflights13 whose every feature declares a lookback (same SQL; a fresh
             lock in the copy): a batch recomputes only the grid points its events can reach
After each series, a ``--full`` build over the same batches must give the same generation.

  .venv/bin/python benchmarks/batches.py --every 7d                    # 53 weekly batches, both series
  .venv/bin/python benchmarks/batches.py --every 1d --series lookback --no-full  # 365 daily batches
  .venv/bin/python benchmarks/batches.py --synthetic 10000000          # one weekly batch at 10M rows

Goals (issue 19): per-batch build flat (mean of the last 10 <= 1.5x the first 10), each <= 25% of the
one-shot build, 365 daily builds together <= 10x one one-shot build, peak memory <= the one-shot
build's, the last generation equal to --full's; at 10M rows one weekly batch <= 10% of the full build.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: The lookback each nycflights13 feature is given in the copy: its window plus the time a flight's
#: actual departure may lie from its schedule (delays up to ~22 h, early departures up to ~45 min).
LOOKBACK_DAYS = {
    "carrier_dep_delay_mean_7d": 9,
    "carrier_delayed_share_24h": 3,
    "origin_departures_1h": 2,
    "route_dep_delay_mean_30d": 32,
}
DEFAULT_LOOKBACK_DAYS = 1  # weather readings at (or an hour before) their grid time; static planes


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lookback_copy(folder: Path) -> Path:
    """nycflights13 with a lookback on every feature: same SQL, a fresh lock, DuckDB only."""
    root = folder / "nyc-lookback"
    for part in ("features", "training", "serving", "feature_repo"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("data", "__pycache__"))
    (root / "feature_repo" / "feature_store.spark.yaml").unlink(missing_ok=True)
    for module in sorted((root / "features").glob("*/*_v*.py")):
        text = module.read_text()
        name = re.sub(r"_v\d+$", "", module.stem)
        if "@sql_feature(" not in text:
            continue
        days = LOOKBACK_DAYS.get(name, DEFAULT_LOOKBACK_DAYS)
        text = re.sub(
            r"(@sql_feature\(\n(?:    .*\n)*?)\)\n",
            rf"\1    lookback=timedelta(days={days}),\n)\n",
            text,
            count=1,
        )
        module.write_text(text)
    from featurelock.features.lockfile import add_new_versions
    from featurelock.features.project import Project

    add_new_versions(Project(root, folder / "lock-home"))
    return root


def child(args: argparse.Namespace) -> dict:
    """One series in this process: times per batch and the peak memory."""
    from featurelock.data.batches import parse_duration, timeline
    from featurelock.data.store import RawStore
    from featurelock.features.build import build_feature_tables
    from featurelock.features.generations import current_generation
    from featurelock.features.lockfile import check_lock
    from featurelock.features.project import Project
    from featurelock.serving.simulate import receive

    root, home = Path(args.root), Path(args.home)
    project = Project(root, home)
    catalog = check_lock(project)
    store = RawStore(project.raw_dir, project.sources)
    batches = timeline(project.sources, parse_duration(args.every, "--every"), pd.Timedelta(days=1))
    if args.series == "one-shot":
        last = batches[-1].known
        for table in sorted(project.sources):
            frames = [b.frames[table] for b in batches if table in b.frames]
            store.ingest(table, pd.concat(frames, ignore_index=True), last)
        began = time.perf_counter()
        build_feature_tables(catalog, store, project.feature_tables_dir, full=True)
        return {"build": time.perf_counter() - began, "peak_mb": peak_mb()}
    builds, materializes, ingests = [], [], []
    for i, batch in enumerate(batches):
        ingest, build, write = receive(project, catalog, store, batch, first=i == 0)  # as simulate does
        ingests.append(ingest)
        builds.append(build)
        materializes.append(write)
    peak = peak_mb()
    full_seconds, full_generation = float("nan"), None
    if not args.no_full:
        began = time.perf_counter()
        build_feature_tables(catalog, store, home / "full" / "features", full=True)
        full_seconds = time.perf_counter() - began
        full_generation = current_generation(home / "full" / "features")
    return {
        "batches": len(batches),
        "ingest": ingests,
        "build": builds,
        "materialize": materializes,
        "peak_mb": peak,
        "generation": current_generation(project.feature_tables_dir),
        "full_generation": full_generation,
        "full_build": full_seconds,
    }


def run_child(series: str, root: Path, every: str, folder: Path, no_full: bool = False) -> dict:
    home = folder / f"home-{series}"
    command = [sys.executable, __file__, "--child", series, "--root", str(root), "--home", str(home)]
    command += ["--every", every] + (["--no-full"] if no_full else [])
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{series} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(series: str, result: dict, one_shot: dict, every: str) -> None:
    builds = np.array(result["build"])
    first, last = builds[:10].mean(), builds[-10:].mean()
    base = one_shot["build"]
    print(f"\n{series}: {result['batches']} batches every {every}")
    print(
        f"  build per batch    first 10 mean {first:.2f}s, last 10 mean {last:.2f}s: ratio {last / first:.2f}"
    )
    print(f"  build per batch    max {builds.max():.2f}s = {builds.max() / base:.0%} of the one-shot build")
    print(f"  builds together    {builds.sum():.1f}s = {builds.sum() / base:.1f}x the one-shot build")
    writes = np.array(result["materialize"])
    print(f"  materialize        mean {writes.mean():.2f}s, max {writes.max():.2f}s")
    print(f"  ingest             mean {np.mean(result['ingest']):.2f}s")
    print(f"  peak memory        {result['peak_mb']:.0f} MB (one-shot build {one_shot['peak_mb']:.0f} MB)")
    if result["full_generation"] is None:
        print(f"  generation         {result['generation']} (--full not run: --no-full)")
    else:
        same = result["generation"] == result["full_generation"]
        print(
            f"  generation         {result['generation']} vs --full {result['full_generation']}: "
            f"{'same' if same else 'DIFFERENT'} (--full took {result['full_build']:.1f}s)"
        )
    print("  per batch (s)      " + " ".join(f"{b:.2f}" for b in builds))


def synthetic(rows: int, folder: Path) -> None:
    """A project made by ``init`` with ``rows`` seeded visits over a year; the whole year as one
    batch built from nothing, against one more week built incrementally on the year before it."""
    from featurelock.data.store import RawStore
    from featurelock.features.build import build_feature_tables
    from featurelock.features.lockfile import check_lock
    from featurelock.features.project import Project
    from featurelock.scaffold import init_project

    root = init_project(folder / "synthetic")
    rng = np.random.default_rng(11)
    customers = 1_000
    start = pd.Timestamp("2024-01-01T00:00Z")
    seconds = np.sort(rng.integers(0, 364 * 86_400, rows))
    frame = pd.DataFrame(
        {
            "visit_id": [f"v{i:09d}" for i in range(rows)],
            "event_timestamp": start + pd.to_timedelta(seconds, unit="s"),
            "customer": [f"c{c:04d}" for c in rng.integers(0, customers, rows)],
            "amount": np.round(rng.random(rows) * 100, 2),
        }
    )
    project = Project(root, folder / "synthetic-home")
    catalog = check_lock(project)
    cut = start + pd.Timedelta(days=357)
    year_end = start + pd.Timedelta(days=366)
    one = RawStore(folder / "one-shot-raw", project.sources)
    one.ingest("visits", frame, year_end)
    began = time.perf_counter()
    build_feature_tables(catalog, one, folder / "one-shot" / "features", full=True)
    full = time.perf_counter() - began
    store = RawStore(project.raw_dir, project.sources)
    store.ingest("visits", frame[frame["event_timestamp"] < cut], cut + pd.Timedelta(days=1))
    build_feature_tables(catalog, store, project.feature_tables_dir)
    store.ingest("visits", frame[frame["event_timestamp"] >= cut], year_end)
    began = time.perf_counter()
    build_feature_tables(catalog, store, project.feature_tables_dir)
    week = time.perf_counter() - began
    print(f"\nsynthetic: {rows:,} visits of {customers:,} customers over a year (grid: customers x days)")
    print(f"  full build of the year (one batch)  {full:.1f}s")
    print(f"  one weekly batch, incremental       {week:.2f}s = {week / full:.1%} of the full build")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", default="7d")
    parser.add_argument("--series", default="declared,lookback")
    parser.add_argument("--synthetic", type=int)
    parser.add_argument("--no-full", action="store_true", help="skip the --full build at the end")
    parser.add_argument("--child")
    parser.add_argument("--root")
    parser.add_argument("--home")
    args = parser.parse_args()
    if args.child:
        args.series = args.child
        print(json.dumps(child(args)))
        return
    with tempfile.TemporaryDirectory(prefix="fl-batches-") as tmp:
        folder = Path(tmp)
        if args.synthetic:
            synthetic(args.synthetic, folder)
            return
        roots = {"declared": REPO}
        if "lookback" in args.series:
            roots["lookback"] = lookback_copy(folder)
        one_shot = run_child("one-shot", REPO, args.every, folder)
        print(
            f"one-shot build of the whole year: {one_shot['build']:.1f}s, peak {one_shot['peak_mb']:.0f} MB"
        )
        for series in args.series.split(","):
            result = run_child(series, roots[series], args.every, folder, args.no_full)
            report(series, result, one_shot, args.every)


if __name__ == "__main__":
    main()
