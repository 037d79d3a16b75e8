"""Entity rows: the one builder behind training sets, the predictor, parity and replay.

An entity row is (join keys, ``event_timestamp`` = the prediction time, request inputs). Offline,
a population yields a frame of them; online, each request is one. Both are typed by the project's
``RequestInput`` kinds here, and request-time features are computed from these columns by their
own locked functions, so the same code produces the same values offline and online.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from featurelock.core.errors import ValidationError
from featurelock.data.schema import EVENT_TS
from featurelock.features.declare import RequestInput
from featurelock.features.plan import ServicePlan
from featurelock.features.request_values import request_column
from featurelock.stores.pit import check_at
from featurelock.stores.retrieval import AS_OF_COLUMN


@dataclass(frozen=True)
class Request:
    """One entity row at serving time: join keys, request inputs and the prediction time ``at``."""

    keys: dict[str, str | None]
    inputs: dict[str, Any]
    at: datetime
    id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def typed_input(values: Any, spec: RequestInput) -> pd.Series:
    """One request-input column in its canonical dtype (timestamps: UTC, nanoseconds)."""
    series = pd.Series(values).reset_index(drop=True)
    if spec.kind == "timestamp":
        return pd.to_datetime(series, utc=True).dt.as_unit("ns")
    if spec.kind == "float":
        return series.astype("float64")
    if spec.kind == "int":
        return series.astype("Int64")
    return series.astype(object).where(series.notna(), None)


def key_column(values: Any) -> pd.Series:
    series = pd.Series(values, dtype=object).reset_index(drop=True)
    return series.where(series.notna(), None)


def requests_frame(
    requests: Sequence[Request], keys: Sequence[str], inputs: Mapping[str, RequestInput]
) -> pd.DataFrame:
    """Requests as entity rows: keys, ``event_timestamp`` (their prediction times), typed inputs."""
    frame = pd.DataFrame({k: key_column([r.keys.get(k) for r in requests]) for k in keys})
    frame[EVENT_TS] = pd.to_datetime([check_at(r.at, "prediction_time") for r in requests], utc=True)
    frame[EVENT_TS] = frame[EVENT_TS].dt.as_unit("ns") if len(frame) else frame[EVENT_TS]
    for name, spec in inputs.items():
        frame[name] = typed_input([r.inputs.get(name) for r in requests], spec)
    return frame


def entity_frame(
    rows: pd.DataFrame, keys: Sequence[str], as_of: pd.Timestamp, id_column: str | None = None
) -> pd.DataFrame:
    """What an offline store reads: the row id (if any), ``event_timestamp``, the keys, and the one
    ``as_of`` (a store may return rows in any order; the id puts them back)."""
    columns = [*([id_column] if id_column else []), EVENT_TS, *keys]
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValidationError(f"entity rows lack column(s) {missing}; they have {sorted(rows.columns)}.")
    frame = rows[columns].reset_index(drop=True).copy()
    frame[AS_OF_COLUMN] = pd.Series([as_of] * len(frame), dtype="datetime64[ns, UTC]")
    return frame


def request_columns(plan: ServicePlan, rows: pd.DataFrame) -> dict[str, pd.Series]:
    """Request-time features computed from the entity rows' input columns by their own functions."""
    out = {}
    for spec in plan.request_features:
        args = [rows[name].reset_index(drop=True) for name in spec.inputs]
        kinds = [plan.inputs[name].kind for name in spec.inputs]
        out[spec.column] = request_column(spec, args, kinds)
    return out


def with_looked_up_keys(
    store: Any, rows: pd.DataFrame, plan: ServicePlan, row_knowledge: bool
) -> pd.DataFrame:
    """The entity rows with each looked-up key added, by the point-in-time rule at each row's
    prediction time: one historical read of the lookup features (the offline half of the rule;
    the predictor reads the online store the same way). Rows keep their order."""
    lookups = plan.lookups
    if not lookups:
        return rows
    frame = rows.reset_index(drop=True).copy()
    frame[ROW] = range(len(frame))
    asked = frame[[ROW, EVENT_TS, *sorted({k for lk in lookups for k in lk.by}), AS_OF_COLUMN]]
    found = store.get_historical_features(
        asked,
        features=[f"{lk.view}:{lk.column}" for lk in lookups],
        filter_by_created_timestamp=row_knowledge,
    ).to_df()
    found = found.sort_values(ROW, kind="mergesort").reset_index(drop=True)
    for lk in lookups:
        frame[lk.key] = key_column([None if pd.isna(v) else str(v) for v in found[lk.column]])
    return frame.drop(columns=[ROW])


ROW = "__featurelock_row"  # the entity rows' order, kept through a store that may return any order
