"""Online/offline parity: the same features and the same predictions, served and researched.

``parity(project, sample, at)`` materializes up to ``at`` (rewinding the online store if it is
ahead), takes ``sample`` rows of the trained population (seeded), asks for each of them at ``at``,
reads their features online and offline with the point-in-time join at ``at``, compares every
cell, then compares the service's probabilities with the research pipeline's (training code on
the offline features).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from featurelock.core.settings import Profile
from featurelock.features.declare import check_knowledge
from featurelock.features.feast_repo import feature_store
from featurelock.features.project import Project
from featurelock.serving.materialize import materialize
from featurelock.serving.predictor import Predictor
from featurelock.stores.pit import check_at
from featurelock.training.dataset import raw_store
from featurelock.training.encoding import model_input
from featurelock.training.entity_rows import (
    Request,
    entity_frame,
    request_columns,
    requests_frame,
    with_looked_up_keys,
)
from featurelock.training.population import build_population


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
    if isinstance(a, str) or isinstance(b, str):  # a string feature: equal text, never a number
        return isinstance(a, str) and isinstance(b, str) and a == b
    return float(a) == float(b)


def offline_frame(
    predictor: Predictor, requests: list[Request], profile: Profile = Profile.LOCAL, knowledge: str = "as-of"
) -> pd.DataFrame:
    """Offline point-in-time features (as of the newest knowledge) for requests at their prediction
    times; ``knowledge="row"``: each also as known at its own prediction time (what an online store
    materialized after every batch held then)."""
    project = predictor.project
    rows = requests_frame(requests, predictor.keys, predictor.inputs)
    as_of = raw_store(project).knowledge_times()[-1]
    fs = feature_store(project, profile)
    row = check_knowledge(knowledge) == "row"
    entity = entity_frame(rows, predictor.keys, as_of)
    entity = with_looked_up_keys(fs, entity, predictor.plan, row)
    frame = fs.get_historical_features(
        entity, features=fs.get_feature_service(predictor.service.name), filter_by_created_timestamp=row
    ).to_df()
    for column, values in request_columns(predictor.plan, rows).items():
        frame[column] = values.to_numpy()
    return frame


def research_probabilities(predictor: Predictor, frame: pd.DataFrame) -> np.ndarray:
    """The research pipeline's probabilities for ``frame``, each row as if alone (``FastPredictor``)."""
    return predictor.fast.research_proba(model_input(frame, predictor.columns, predictor.categories))[:, 1]


def population_requests(predictor: Predictor, sample: int, at: object, seed: int) -> list[Request]:
    """``sample`` rows of the trained population (seeded, sorted by id), asked for at ``at``."""
    project, pop = predictor.project, predictor.population
    store = raw_store(project)
    population = build_population(project, pop, store.knowledge_times()[-1], store)
    picked = population.sample(min(sample, len(population)), random_state=seed).sort_values(pop.id)
    when = check_at(at)
    return [
        Request(
            keys={k: row[k] for k in predictor.keys},
            inputs={n: row[n] for n in predictor.inputs},
            at=when,
            id=row[pop.id],
        )
        for row in picked.to_dict("records")
    ]


def parity(
    project: Project,
    sample: int = 1000,
    at: object | None = None,
    profile: Profile = Profile.LOCAL,
    seed: int = 13,
    run: str | None = None,
    progress=lambda _m: None,
) -> ParityReport:
    at_ts = pd.Timestamp(check_at(at if at is not None else project.examples.at, "at"))
    progress(f"    materializing up to {at_ts.isoformat()}")
    materialize(project, end=at_ts, profile=profile, rewind=True)
    predictor = Predictor.load(project, run, profile)
    requests = population_requests(predictor, sample, at_ts, seed)
    progress(f"    reading {len(requests):,} entity rows online and offline")
    looked = predictor.look_up(requests)
    online, _ = predictor.read_features(looked)
    for lookup in predictor.lookups:  # a looked-up key is compared like a feature
        online[lookup.key] = [r.keys.get(lookup.key) for r in looked]
    offline = offline_frame(predictor, requests, profile)
    per_feature: dict[str, dict[str, int]] = {}
    examples: list[dict[str, Any]] = []
    for column in [*(lk.key for lk in predictor.lookups), *predictor.feast_columns]:
        bad = 0
        for i in range(len(requests)):
            if not same(online[column][i], offline[column].iloc[i]):
                bad += 1
                if len(examples) < 5:
                    examples.append(
                        {
                            "id": requests[i].id,
                            "feature": column,
                            "online": online[column][i],
                            "offline": offline[column].iloc[i],
                        }
                    )
        nulls = sum(v is None for v in online[column])
        per_feature[column] = {"compared": len(requests), "mismatches": bad, "online_nulls": nulls}
    served = np.array([r["probability"] for r in predictor.predict(requests)])
    research = research_probabilities(predictor, offline)
    differ = served != research
    return ParityReport(
        at=at_ts.isoformat(),
        rows=len(requests),
        per_feature=per_feature,
        prediction_mismatches=int(differ.sum()),
        max_probability_difference=float(np.max(np.abs(served - research))) if len(served) else 0.0,
        examples=examples,
    )
