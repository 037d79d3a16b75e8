"""Benchmark: one prediction and a batch of 100, in process (no HTTP), on real population flights.

Each prediction reads the online store at its time, computes the request features, runs the model
and builds its receipt (``Predictor.predict``). Measured with the serving path of today and, in the
same run as the baseline, with the path before issue 11 (scikit-learn walking its trees one call
per tree, request features through a one-row pandas frame). Requests are sent as the API hands
them on (JSON parsed by the service's request model). "cold" is the first pass over distinct
flights (every request feature computed by its function), "warm" a second pass (from the memo);
single predictions and batches use disjoint flights, so both start cold. Needs the demo data
(`make demo`); ``--run`` serves another run than the promoted one (e.g. one of delay_model_v4,
whose request features are row functions: `featurelock train --service delay_model_v4`).

  .venv/bin/python benchmarks/predict_inprocess.py [--flights 2000] [--run RUN]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from featurelock.features.project import Project  # noqa: E402
from featurelock.serving.parity import population_requests  # noqa: E402
from featurelock.serving.predictor import Predictor  # noqa: E402
from featurelock.training.entity_rows import request_columns, requests_frame  # noqa: E402


def timed(call, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        call(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def baseline(predictor: Predictor) -> Predictor:
    """The same predictor on the path before: scikit-learn's trees, pandas request features."""
    import pandas as pd

    old = Predictor.load(predictor.project, predictor.run_id, predictor.profile)
    old.fast.forest = None

    def request_features(requests):
        columns = request_columns(old.plan, requests_frame(requests, (), old.inputs))
        return {c: [None if pd.isna(v) else v for v in s.tolist()] for c, s in columns.items()}

    old.request_features = request_features  # type: ignore[method-assign]
    return old


def as_api_requests(predictor: Predictor, requests: list) -> list:
    """The requests as the API hands them on: each sent as a JSON body, parsed by the service's
    request model (pydantic's datetimes, not pandas'), then ``request_from_mapping``."""
    import json

    from featurelock.serving.app import request_model
    from featurelock.serving.predictor import _jsonable, request_from_mapping

    id_column = predictor.population.id
    model = request_model(predictor.project, predictor.keys, predictor.inputs, id_column)
    out = []
    for r in requests:
        body = {**r.keys, **{k: _jsonable(v) for k, v in r.inputs.items()}}
        body |= {id_column: str(r.id), "prediction_time": r.at.isoformat()}
        data = model.model_validate_json(json.dumps(body)).model_dump()
        out.append(request_from_mapping(data, predictor.keys, predictor.inputs, id_column))
    return out


def main() -> int:
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=2000)
    parser.add_argument("--run", help="run to serve (default: the promoted one)")
    args = parser.parse_args()
    project = Project(REPO)
    predictor = Predictor.load(project, args.run)
    threadpool_limits(1)  # as the service does
    sample = population_requests(predictor, 2 * args.flights, project.examples.at, seed=11)
    flights = as_api_requests(predictor, sample)
    singles, rest = flights[: args.flights], flights[args.flights :]  # disjoint: both start cold
    batches = [rest[i : i + 100] for i in range(0, len(rest) - 99, 100)]
    rows = []
    for name, p in (("today", predictor), ("before issue 11", baseline(predictor))):
        cold = timed(lambda r, p=p: p.predict([r]), singles)
        warm = timed(lambda r, p=p: p.predict([r]), singles)
        batch_cold = timed(lambda b, p=p: p.predict(b), batches)
        batch_warm = timed(lambda b, p=p: p.predict(b), batches * 3)
        rows.append((name, *(statistics.median(t) for t in (cold, warm, batch_cold, batch_warm))))
    print(f"\nrun {predictor.run_id} (service {predictor.service.name})")
    print(f"{len(singles)} + {len(rest)} distinct population flights at {project.examples.at}; p50 in ms")
    print(f"{'path':<18} {'one (cold)':>11} {'one (warm)':>11} {'100 (cold)':>11} {'100 (warm)':>11}")
    for name, *numbers in rows:
        print(f"{name:<18} " + " ".join(f"{v:>11.3f}" for v in numbers))
    (_, c1, w1, bc1, bw1), (_, c0, w0, bc0, bw0) = rows
    print(f"speed-up: one {c0 / c1:.1f}x cold, {w0 / w1:.1f}x warm; ", end="")
    print(f"batch {bc0 / bc1:.1f}x cold, {bw0 / bw1:.1f}x warm")
    print(f"goals: one < 1 ms (cold {c1:.3f}, warm {w1:.3f}); ", end="")
    print(f"batch of 100 < 5 ms (cold {bc1:.2f}, warm {bw1:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
