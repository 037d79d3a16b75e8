"""The prediction path shared by the API, parity and replay: online features, request features, model.

``Predictor`` is loaded once (in FastAPI's lifespan): the promoted run's model (hash-verified, skops),
its feature service, fingerprints and population filters, and a Feast store whose online store
applies ttl against each request's prediction time. Features go into the model by name: the
run's recorded column list fixes each value's position in a plain float64 row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from features.build import PANDAS_DTYPE
from features.catalog import Catalog, discover
from features.errors import NotFoundError
from features.feast_repo import feature_store
from features.services import ServiceSpec, check_service
from features.stores.monotonic_sqlite import prediction_time
from serving.fast_path import FastPredictor
from training.artifacts import load_model
from training.runs import promoted_run, read_run

NULL_KEY = ""  # a null tailnum is looked up as "", which no entity has: missing features, as offline


@dataclass(frozen=True)
class Flight:
    origin: str
    dest: str
    carrier: str
    tailnum: str | None
    sched_dep_time: datetime  # timezone-aware
    distance: float
    flight_id: str | None = None
    prediction_time: datetime | None = None  # timezone-aware; default: now

    def at(self) -> datetime:
        return (self.prediction_time or datetime.now(UTC)).astimezone(UTC)


@dataclass
class Predictor:
    run_id: str
    service: ServiceSpec
    columns: list[str]
    feast_columns: list[str]
    request_columns: list[str]
    pipeline: Any
    fingerprints: dict[str, str]
    population: dict[str, Any]
    model_sha256: str
    store: Any
    catalog: Catalog
    feature_service: Any
    fast: FastPredictor

    @staticmethod
    def load(run: str | None = None, profile: str = "local") -> Predictor:
        run = run or promoted_run()
        if run is None:
            raise NotFoundError("No run is promoted; train one and run `featurelock promote RUN`.")
        path, record = read_run(run)
        pipeline = load_model(path / "model.skops", record["model"]["file_sha256"])
        service = check_service(record["config"]["service"])
        catalog = discover()
        defs = record["dataset"]["inputs"]["feature definitions"]
        fingerprints = {f["ref"]: f["fingerprint"] for f in [*defs["features"], *defs["request_features"]]}
        store = feature_store(profile)
        return Predictor(
            run_id=record["run_id"],
            service=service,
            columns=list(record["feature_columns"]),
            feast_columns=[catalog.spec(r).column for r in service.features],
            request_columns=[catalog.spec(r).column for r in service.request_features],
            pipeline=pipeline,
            fingerprints=fingerprints,
            population=record["dataset"]["inputs"]["population"]["definition"],
            model_sha256=record["model"]["file_sha256"],
            store=store,
            catalog=catalog,
            feature_service=store.get_feature_service(service.name),
            fast=FastPredictor(pipeline, len(record["feature_columns"])),
        )

    def population_flags(self, flight: Flight) -> list[str]:
        """Reasons a request lies outside the trained population (empty: inside)."""
        flags = []
        if flight.origin not in self.population["origins"]:
            flags.append(
                f"origin {flight.origin!r} is not one of the trained origins {self.population['origins']}"
            )
        local = pd.Timestamp(flight.sched_dep_time).tz_convert("America/New_York").tz_localize(None)
        lo = pd.Timestamp(self.population["sched_dep_local_from"])
        hi = pd.Timestamp(self.population["sched_dep_local_to"])
        if not lo <= local < hi:
            window = f"[{lo.date()}, {hi.date()})"
            flags.append(f"scheduled departure {local} (New York) is outside the trained window {window}")
        return flags

    def _read_plan(self) -> list[tuple[Any, list[str], list[str]]]:
        """(feature view, its features in the service, its join keys), resolved once."""
        if not hasattr(self, "_plan"):
            plan = []
            for projection in self.feature_service.feature_view_projections:
                view = self.store.get_feature_view(projection.name)
                plan.append(
                    (view, [f.name for f in projection.features], [c.name for c in view.entity_columns])
                )
            self._plan = plan
        return self._plan

    def online(self, flights: list[Flight]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
        """Online features for each flight at its prediction time: values and event timestamps.

        Reads go straight to the configured online store (ours: monotonic writes, ttl on read),
        one batched read per view, without Feast's response assembly on the hot path.
        """
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value
        from feast.type_map import feast_value_type_to_python_type

        values: dict[str, list[Any]] = {c: [None] * len(flights) for c in self.feast_columns}
        stamps: dict[str, list[Any]] = {c: [None] * len(flights) for c in self.feast_columns}
        online_store = self.store._get_provider().online_store
        groups: dict[datetime, list[int]] = {}
        for i, f in enumerate(flights):
            groups.setdefault(f.at(), []).append(i)
        for at in sorted(groups):
            index = groups[at]
            rows = [
                {
                    "origin": flights[i].origin,
                    "dest": flights[i].dest,
                    "carrier": flights[i].carrier,
                    "tailnum": flights[i].tailnum if flights[i].tailnum is not None else NULL_KEY,
                }
                for i in index
            ]
            with prediction_time(at):
                for view, features, keys in self._read_plan():
                    protos = [
                        EntityKey(join_keys=keys, entity_values=[Value(string_val=row[k]) for k in keys])
                        for row in rows
                    ]
                    result = online_store.online_read(self.store.config, view, protos, list(features))
                    for j, (event_ts, data) in enumerate(result):
                        if not data:
                            continue
                        for feature in features:
                            value = (
                                feast_value_type_to_python_type(data[feature]) if feature in data else None
                            )
                            values[feature][index[j]] = value
                            if value is not None:
                                stamps[feature][index[j]] = event_ts
        return values, stamps

    def request_features(self, flights: list[Flight]) -> dict[str, pd.Series]:
        sched = pd.Series(pd.to_datetime([f.sched_dep_time for f in flights], utc=True))
        fields = {
            "sched_dep_time": sched,
            "distance": pd.Series([f.distance for f in flights], dtype="float64"),
        }
        out = {}
        for ref in self.service.request_features:
            spec = self.catalog.spec(ref)
            out[spec.column] = spec.function(*[fields[name] for name in spec.inputs]).astype(
                PANDAS_DTYPE[spec.dtype]
            )
        return out

    def matrix(self, values: dict[str, list[Any]], request: dict[str, pd.Series], n: int) -> np.ndarray:
        """One float64 row per flight, each value placed by its name's position in the run's columns."""
        x = np.full((n, len(self.columns)), np.nan, dtype=np.float64)
        for j, column in enumerate(self.columns):
            if column in values:
                col = values[column]
                x[:, j] = [np.nan if v is None else float(v) for v in col]
            else:
                x[:, j] = request[column].astype("float64").to_numpy(na_value=np.nan)
        return x

    def predict(self, flights: list[Flight]) -> list[dict[str, Any]]:
        """Probabilities with receipts: enough to replay each prediction offline."""
        values, stamps = self.online(flights)
        request = self.request_features(flights)
        x = self.matrix(values, request, len(flights))
        proba = self.fast.predict_proba(x)[:, 1]
        receipts = []
        for i, flight in enumerate(flights):
            features = {c: values[c][i] for c in self.feast_columns}
            features.update(
                {
                    c: (None if pd.isna(request[c].iloc[i]) else request[c].iloc[i].item())
                    for c in self.request_columns
                }
            )
            flags = self.population_flags(flight)
            receipts.append(
                {
                    "flight_id": flight.flight_id,
                    "probability": float(proba[i]),
                    "run_id": self.run_id,
                    "feature_service": self.service.name,
                    "fingerprints": {r: self.fingerprints[r] for r in self.service.all_refs},
                    "prediction_time": flight.at().isoformat(),
                    "features": features,
                    "event_timestamps": {
                        c: (stamps[c][i].isoformat() if stamps[c][i] is not None else None)
                        for c in self.feast_columns
                    },
                    "missing_features": [c for c, v in features.items() if v is None],
                    "in_population": not flags,
                    "population_flags": flags,
                    "request": {
                        "origin": flight.origin,
                        "dest": flight.dest,
                        "carrier": flight.carrier,
                        "tailnum": flight.tailnum,
                        "sched_dep_time": flight.sched_dep_time.isoformat(),
                        "distance": flight.distance,
                    },
                }
            )
        return receipts
