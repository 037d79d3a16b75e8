"""Benchmark: our /predict (features + model) against `feast serve` (features only), same load, one run.

Both servers run on loopback with one worker each (`feast serve --max-requests 0`, so it does not
recycle its worker). Load: sequential requests, then 8 concurrent client processes for a fixed
time, then our batch endpoint with 100 flights. Prints p50, p99, requests/s and errors, and ratios.
Needs the demo data (`make demo`): a promoted run and a materialized online store.

  .venv/bin/python benchmarks/serving.py [--seconds 30] [--clients 8] [--sequential 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.servers import feast_yaml, free_port, wait_ready  # noqa: E402
from featurelock.features.project import Project  # noqa: E402

BIN = Path(sys.executable).parent
PROJECT = Project(REPO)
FLIGHTS = [dict(r) for r in PROJECT.examples.requests]  # the nycflights13 project's real flights


def request_for(target: str, i: int) -> tuple[str, dict]:
    flight = FLIGHTS[i % len(FLIGHTS)]
    if target == "ours":
        return "/predict", flight
    if target == "ours-batch":
        return "/predict/batch", {"requests": [FLIGHTS[j % len(FLIGHTS)] for j in range(100)]}
    # A null tailnum is looked up as "" by our service (Feast's Redis path cannot sort a null key).
    keys = {k: [flight[k] if flight[k] is not None else ""] for k in ("origin", "dest", "carrier", "tailnum")}
    return "/get-online-features", {"feature_service": "delay_model_v1", "entities": keys}


def client(target: str, url: str, seconds: float, count: int, queue) -> None:
    import httpx

    latencies, errors = [], 0
    with httpx.Client(base_url=url, timeout=10) as http:
        deadline = time.monotonic() + seconds
        i = 0
        while (count and i < count) or (not count and time.monotonic() < deadline):
            path, body = request_for(target, i)
            start = time.perf_counter()
            try:
                ok = http.post(path, json=body).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += 0 if ok else 1
            i += 1
    queue.put((latencies, errors))


def drive(target: str, url: str, clients: int, seconds: float, count: int = 0) -> dict:
    queue = mp.Queue()
    procs = [mp.Process(target=client, args=(target, url, seconds, count, queue)) for _ in range(clients)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    lat = np.concatenate([np.array(r[0]) for r in results]) * 1000
    return {
        "requests": len(lat),
        "errors": sum(r[1] for r in results),
        "rps": len(lat) / wall,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--profile", default=os.environ.get("FEATURELOCK_PROFILE", "local"))
    args = parser.parse_args()
    env = {**os.environ, "FEATURELOCK_PROFILE": args.profile}
    ours_port, feast_port = free_port(), free_port()
    servers = {
        "ours": subprocess.Popen(
            [str(BIN / "featurelock"), "serve", "--project", str(REPO), "--port", str(ours_port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        "feast": subprocess.Popen(
            [
                str(BIN / "feast"),
                "-c",
                str(REPO / "feature_repo"),
                "-f",
                str(feast_yaml(PROJECT, args.profile)),
                "serve",
                "-h",
                "127.0.0.1",
                "-p",
                str(feast_port),
                "--workers",
                "1",
                "--max-requests",
                "0",
                "--no-access-log",
            ],
            cwd=REPO / "feature_repo",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    }
    urls = {"ours": f"http://127.0.0.1:{ours_port}", "feast": f"http://127.0.0.1:{feast_port}"}
    try:
        wait_ready(urls["ours"], "/health")
        wait_ready(urls["feast"], "/health")
        rows = []
        for target, name in (("feast", "feast serve /get-online-features"), ("ours", "featurelock /predict")):
            drive(target, urls[target], 1, 0, count=50)  # warm-up
            rows.append((f"{name} sequential", drive(target, urls[target], 1, 0, count=args.sequential)))
            rows.append(
                (f"{name} {args.clients} clients", drive(target, urls[target], args.clients, args.seconds))
            )
        rows.append(
            (
                "featurelock /predict/batch (100) sequential",
                drive("ours-batch", urls["ours"], 1, 0, count=max(50, args.sequential // 10)),
            )
        )
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\n{'load':<52} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in rows:
        counts = f"{r['requests']:>9,} {r['errors']:>7} {r['rps']:>8.0f}"
        print(f"{name:<52} {counts} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    by = dict(rows)
    ours_c, feast_c = (
        by[f"featurelock /predict {args.clients} clients"],
        by[f"feast serve /get-online-features {args.clients} clients"],
    )
    ratio = ours_c["rps"] / feast_c["rps"]
    batch_p99 = by["featurelock /predict/batch (100) sequential"]["p99_ms"]
    print(f"\nthroughput ratio ours/feast at {args.clients} clients: {ratio:.2f} (goal >= 0.5)")
    print(f"our p99 at {args.clients} clients: {ours_c['p99_ms']:.1f} ms (goal < 20 ms)")
    print(f"batch of 100 p99: {batch_p99:.1f} ms (goal < 50 ms)")
    print(f"errors: {sum(r['errors'] for _, r in rows)} (goal 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
