"""Benchmark: one prediction and a batch of 100, in process (no HTTP), on real population flights.

Each prediction reads the online store at its time, computes the request features, runs the model
and builds its receipt (``Predictor.predict``). Measured with the serving path of today and, in the
same run as the baseline, with the path before issue 11 (scikit-learn walking its trees one call
per tree, request features through a one-row pandas frame). "cold" is the first pass over distinct
flights (every request feature computed by its function), "warm" a second pass (from the memo).
Needs the demo data (`make demo`).

  .venv/bin/python benchmarks/predict_inprocess.py [--flights 2000]
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
        columns = request_columns(old.service, old.catalog, requests_frame(requests, (), old.inputs))
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
    args = parser.parse_args()
    project = Project(REPO)
    predictor = Predictor.load(project)
    threadpool_limits(1)  # as the service does
    sample = population_requests(predictor, args.flights, project.examples.at, seed=11)
    flights = as_api_requests(predictor, sample)
    batches = [flights[i : i + 100] for i in range(0, len(flights) - 99, 100)]
    rows = []
    for name, p in (("today", predictor), ("before issue 11", baseline(predictor))):
        cold = timed(lambda r, p=p: p.predict([r]), flights)
        warm = timed(lambda r, p=p: p.predict([r]), flights)
        batch = timed(lambda b, p=p: p.predict(b), batches * 3)  # warm: the flights were seen above
        rows.append((name, statistics.median(cold), statistics.median(warm), statistics.median(batch)))
    print(f"\n{len(flights)} distinct population flights at {project.examples.at}; p50 in ms")
    print(f"{'path':<18} {'one (cold)':>11} {'one (warm)':>11} {'batch of 100 (warm)':>20}")
    for name, cold, warm, batch in rows:
        print(f"{name:<18} {cold:>11.3f} {warm:>11.3f} {batch:>20.2f}")
    (_, c1, w1, b1), (_, c0, w0, b0) = rows
    print(f"speed-up: one {c0 / c1:.1f}x cold, {w0 / w1:.1f}x warm; batch {b0 / b1:.1f}x")
    print(f"goals: one < 1 ms (cold {c1:.3f}, warm {w1:.3f}); batch of 100 < 5 ms ({b1:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
