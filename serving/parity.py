"""Online/offline parity: the same features and the same predictions, served and researched.

``parity(sample, at)`` materializes up to ``at`` (rewinding the online store if it is ahead),
takes ``sample`` flights of the trained population (seeded), reads their features online at
``at`` and offline with the point-in-time join at ``at``, compares every cell, then compares the
service's probabilities with the research pipeline's (training code on the offline features).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.feast_repo import feature_store
from features.raw.store import RawStore
from features.stores.asof_duckdb import AS_OF_COLUMN
from serving.materialize import materialize
from serving.predictor import Flight, Predictor
from training.dataset import request_columns
from training.model import model_input
from training.population import ENTITY_KEYS, build_population

DEFAULT_AT = pd.Timestamp("2013-12-30T18:00:00Z")  # all views have fresh rows at this time


@dataclass(frozen=True)
class ParityReport:
    at: str
    rows: int
    per_feature: dict[str, dict[str, int]]  # column -> compared, mismatches, online nulls
    prediction_mismatches: int
    max_probability_difference: float
    examples: list[dict[str, Any]]

    @property
    def mismatches(self) -> int:
        return sum(v["mismatches"] for v in self.per_feature.values()) + self.prediction_mismatches


def same(a: Any, b: Any) -> bool:
    a_null = a is None or (isinstance(a, float) and np.isnan(a)) or a is pd.NA
    b_null = b is None or (isinstance(b, float) and np.isnan(b)) or b is pd.NA
    if a_null or b_null:
        return a_null and b_null
    return float(a) == float(b)


def offline_frame(predictor: Predictor, flights: list[Flight], profile: str = "local") -> pd.DataFrame:
    """Offline point-in-time features (as of the newest knowledge) for flights at their prediction times."""
    entity = pd.DataFrame(
        {
            "origin": [f.origin for f in flights],
            "dest": [f.dest for f in flights],
            "carrier": [f.carrier for f in flights],
            "tailnum": [f.tailnum for f in flights],
            "event_timestamp": pd.to_datetime([f.at() for f in flights], utc=True),
        }
    )
    as_of = RawStore().knowledge_times()[-1]
    entity[AS_OF_COLUMN] = pd.Series([as_of] * len(entity), dtype="datetime64[ns, UTC]")
    fs = feature_store(profile)
    frame = fs.get_historical_features(
        entity, features=fs.get_feature_service(predictor.service.name)
    ).to_df()
    fields = pd.DataFrame(
        {
            "sched_dep_time": pd.to_datetime([f.sched_dep_time for f in flights], utc=True),
            "distance": pd.Series([f.distance for f in flights], dtype="float64"),
        }
    )
    for column, values in request_columns(predictor.service, predictor.catalog, fields).items():
        frame[column] = values.to_numpy()
    return frame


def research_probabilities(predictor: Predictor, frame: pd.DataFrame) -> np.ndarray:
    return predictor.pipeline.predict_proba(model_input(frame, predictor.columns))[:, 1]


def parity(
    sample: int = 1000,
    at: object | None = None,
    profile: str = "local",
    seed: int = 13,
    run: str | None = None,
    progress=lambda _m: None,
) -> ParityReport:
    at_ts = pd.Timestamp(at).tz_convert("UTC") if at is not None else DEFAULT_AT
    progress(f"    materializing up to {at_ts.isoformat()}")
    materialize(end=at_ts, profile=profile, rewind=True)
    predictor = Predictor.load(run, profile)
    population = build_population(RawStore().knowledge_times()[-1])
    picked = population.sample(min(sample, len(population)), random_state=seed).sort_values("flight_id")
    flights = [
        Flight(
            origin=r.origin,
            dest=r.dest,
            carrier=r.carrier,
            tailnum=r.tailnum,
            sched_dep_time=r.sched_dep_time.to_pydatetime(),
            distance=float(r.distance),
            flight_id=r.flight_id,
            prediction_time=at_ts.to_pydatetime(),
        )
        for r in picked[["flight_id", *ENTITY_KEYS, "sched_dep_time", "distance"]].itertuples(index=False)
    ]
    progress(f"    reading {len(flights):,} flights online and offline")
    online, _ = predictor.online(flights)
    offline = offline_frame(predictor, flights, profile)
    per_feature: dict[str, dict[str, int]] = {}
    examples: list[dict[str, Any]] = []
    for column in predictor.feast_columns:
        bad = 0
        for i in range(len(flights)):
            if not same(online[column][i], offline[column].iloc[i]):
                bad += 1
                if len(examples) < 5:
                    examples.append(
                        {
                            "flight_id": flights[i].flight_id,
                            "feature": column,
                            "online": online[column][i],
                            "offline": offline[column].iloc[i],
                        }
                    )
        nulls = sum(v is None for v in online[column])
        per_feature[column] = {"compared": len(flights), "mismatches": bad, "online_nulls": nulls}
    served = np.array([r["probability"] for r in predictor.predict(flights)])
    research = research_probabilities(predictor, offline)
    differ = served != research
    return ParityReport(
        at=at_ts.isoformat(),
        rows=len(flights),
        per_feature=per_feature,
        prediction_mismatches=int(differ.sum()),
        max_probability_difference=float(np.max(np.abs(served - research))) if len(served) else 0.0,
        examples=examples,
    )
