"""Benchmark: featurelock /predict (features + model) against `feast serve` (features alone), with a
compiled load generator (`hey`), same entities, same profile, same number of workers, one run.

For each connection count (8 and 32, 30 s each): requests, errors (non-200 or failed), req/s,
p50, p99 and the CPU seconds the server processes used; then our batch endpoint (100 flights)
on one connection (its latency without queueing). The load generator is a Go binary, so the
client costs far less CPU than the servers (it still shares the machine's cores with them).
Prints the ratio ours / Feast's.
Needs the demo data (`make demo`) and `hey` (`bash benchmarks/setup.sh`).

  .venv/bin/python benchmarks/serving_load.py [--seconds 30] [--connections 8 32] [--workers 1]
      [--profile local|production]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.servers import feast_yaml, free_port, wait_ready  # noqa: E402
from featurelock.features.project import Project  # noqa: E402

BIN = Path(sys.executable).parent
PROJECT = Project(REPO)
FLIGHT = dict(PROJECT.examples.requests[0])  # a real flight of the nycflights13 project
KEYS = ("origin", "dest", "carrier", "tailnum")


def cpu_seconds(pid: int) -> float:
    """CPU time of a server process and its children (the workers)."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def hey(url: str, body: dict, connections: int, seconds: float) -> dict:
    """Run hey; parse its summary (requests/s, latency percentiles, status codes, errors)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(body, fh)
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(connections), "-m", "POST", "-T", "application/json",
         "-D", fh.name, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(fh.name)
    codes = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    failures = out.split("Error distribution:")[1] if "Error distribution:" in out else ""
    failed = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s", failures, flags=re.MULTILINE))
    pct = dict(re.findall(r"\s(\d+)% in ([\d.]+) secs", out))
    ok = codes.get(200, 0)
    total = sum(codes.values()) + failed
    return {
        "requests": total,
        "errors": total - ok,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": float(pct["50"]) * 1000,
        "p99_ms": float(pct["99"]) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", default=os.environ.get("FEATURELOCK_PROFILE", "local"))
    args = parser.parse_args()
    if shutil.which("hey") is None:
        print("hey is not installed: run `bash benchmarks/setup.sh` first", file=sys.stderr)
        return 2
    env = {**os.environ, "FEATURELOCK_PROFILE": args.profile}
    ports = {"ours": free_port(), "feast": free_port()}
    ours = [str(BIN / "featurelock"), "serve", "--project", str(REPO)]
    ours += ["--port", str(ports["ours"]), "--workers", str(args.workers)]
    feast = [
        str(BIN / "feast"),
        "-c",
        str(REPO / "feature_repo"),
        "-f",
        str(feast_yaml(PROJECT, args.profile)),
    ]
    feast += ["serve", "-h", "127.0.0.1", "-p", str(ports["feast"]), "--workers", str(args.workers)]
    feast += ["--max-requests", "0", "--no-access-log"]
    servers = {
        "ours": subprocess.Popen(
            ours, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ),
        "feast": subprocess.Popen(
            feast, cwd=REPO / "feature_repo", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ),
    }
    urls = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
    entities = {k: [FLIGHT[k] if FLIGHT[k] is not None else ""] for k in KEYS}
    targets = {
        "feast": (
            urls["feast"] + "/get-online-features",
            {"feature_service": "delay_model_v1", "entities": entities},
        ),
        "ours": (urls["ours"] + "/predict", FLIGHT),
    }
    rows = []
    try:
        wait_ready(urls["ours"])
        wait_ready(urls["feast"])
        for connections in args.connections:
            for name in ("feast", "ours"):
                url, body = targets[name]
                hey(url, body, connections, 3)  # warm-up
                before = cpu_seconds(servers[name].pid)
                result = hey(url, body, connections, args.seconds)
                result["cpu_s"] = cpu_seconds(servers[name].pid) - before
                rows.append((name, connections, result))
        batch = {"requests": [FLIGHT] * 100}
        before = cpu_seconds(servers["ours"].pid)
        result = hey(urls["ours"] + "/predict/batch", batch, 1, args.seconds)  # its latency, unqueued
        result["cpu_s"] = cpu_seconds(servers["ours"].pid) - before
        rows.append(("ours-batch100", 1, result))
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(timeout=60)
    label = {"feast": "feast serve /get-online-features", "ours": "featurelock /predict",
             "ours-batch100": "featurelock /predict/batch (100)"}  # fmt: skip
    print(f"\nprofile {args.profile}, {args.workers} worker(s) each, {args.seconds:.0f} s per line, hey")
    head = ["conns", "requests", "errors", "req/s", "p50 ms", "p99 ms", "CPU s"]
    print(f"{'load':<40} " + " ".join(f"{h:>8}" for h in head))
    for name, connections, r in rows:
        print(
            f"{label[name]:<40} {connections:>8} {r['requests']:>8,} {r['errors']:>8} {r['rps']:>8.1f} "
            f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['cpu_s']:>8.1f}"
        )
    by = {(n, c): r for n, c, r in rows}
    for connections in args.connections:
        ratio = by[("ours", connections)]["rps"] / by[("feast", connections)]["rps"]
        print(f"ratio ours/feast req/s at {connections} connections: {ratio:.2f} (goal >= 1.0)")
    print(f"our p99 at 8 connections: {by[('ours', 8)]['p99_ms']:.1f} ms (goal < 20 ms)")
    print(f"batch of 100 p99 (one connection): {by[('ours-batch100', 1)]['p99_ms']:.1f} ms (goal < 25 ms)")
    print(f"errors: {sum(r['errors'] for _, _, r in rows)} (goal 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
