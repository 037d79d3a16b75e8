"""The boundary every featurelock offline store shares: entity-frame checks, view requests, results.

**as_of travels in the entity frame**: a column ``featurelock_as_of`` holding one timezone-aware
timestamp (the same in every row). Rows with ``created_timestamp`` after it are invisible. A
frame without the column is refused, so a forgotten as_of cannot silently read later corrections.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.offline_stores.offline_utils import infer_event_timestamp_from_entity_df

from featurelock.core.errors import ValidationError
from featurelock.core.home import data_home_of
from featurelock.stores.pit import ViewRequest

AS_OF_COLUMN = "featurelock_as_of"


def data_home(config: Any) -> Path:
    """The data directory a store reads relative paths from: the one featurelock set in the offline
    store's config, else the rule of ``data_home_of`` (what plain ``feast`` uses)."""
    explicit = getattr(config.offline_store, "data_home", None)
    return Path(explicit) if explicit else data_home_of(config.repo_path)


class FrameRetrievalJob(RetrievalJob):
    """A retrieval job whose result is already computed (a pandas frame)."""

    def __init__(self, frame: pd.DataFrame, full_feature_names: bool, metadata: RetrievalMetadata) -> None:
        super().__init__()
        self._frame = frame
        self._full_feature_names = full_feature_names
        self._metadata = metadata

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        return self._frame

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        return pa.Table.from_pandas(self._frame, preserve_index=False)

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[Any]:
        return []

    def persist(self, storage: Any, allow_overwrite: bool = False, timeout: int | None = None) -> None:
        raise NotImplementedError(
            "featurelock training sets are written by `featurelock dataset build`, not by Feast's persist()."
        )

    @property
    def metadata(self) -> RetrievalMetadata | None:
        return self._metadata


def check_as_of(entity_df: pd.DataFrame) -> pd.Timestamp:
    """The single timezone-aware as_of carried by ``entity_df``, or a ValidationError."""
    if AS_OF_COLUMN not in entity_df.columns:
        raise ValidationError(
            f"entity_df has no {AS_OF_COLUMN!r} column, so the knowledge time of this retrieval is "
            f"undefined. Add entity_df[{AS_OF_COLUMN!r}] = <tz-aware timestamp> (the same in every row), "
            "or build training sets with featurelock.api (as_of=...)."
        )
    column = entity_df[AS_OF_COLUMN]
    if not isinstance(column.dtype, pd.DatetimeTZDtype):
        raise ValidationError(
            f"entity_df[{AS_OF_COLUMN!r}] has dtype {column.dtype}; expected a timezone-aware timestamp."
        )
    values = column.dropna().unique()
    if len(values) != 1 or column.isna().any():
        raise ValidationError(
            f"entity_df[{AS_OF_COLUMN!r}] holds {len(values)} distinct value(s) and "
            f"{int(column.isna().sum())} null(s); a retrieval has exactly one as_of."
        )
    return pd.Timestamp(values[0]).tz_convert("UTC")


def check_entity_timestamps(entity_df: pd.DataFrame, column: str) -> None:
    series = entity_df[column]
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        raise ValidationError(
            f"entity_df[{column!r}] has dtype {series.dtype}; expected timezone-aware timestamps "
            "(naive times are ambiguous). Localize them, e.g. .dt.tz_localize('UTC')."
        )
    if series.isna().any():
        raise ValidationError(f"entity_df[{column!r}] has {int(series.isna().sum())} null timestamp(s).")
    ns = series.dt.as_unit("ns").astype("int64") % 1000
    if (ns != 0).any():
        raise ValidationError(
            f"entity_df[{column!r}] has sub-microsecond timestamps (e.g. {series[ns != 0].iloc[0]}); "
            "the offline store works in microseconds. Round them with .dt.floor('us')."
        )


def check_entity_frame(
    entity_df: object, filter_by_created_timestamp: bool = False
) -> tuple[pd.Timestamp, str]:
    """Boundary checks shared by our offline stores; returns (as_of, event timestamp column)."""
    if not isinstance(entity_df, pd.DataFrame):
        raise ValidationError(
            f"entity_df must be a pandas DataFrame; got {type(entity_df).__name__} (SQL entity queries "
            "are not supported by the featurelock stores)."
        )
    if filter_by_created_timestamp:
        raise ValidationError(
            "filter_by_created_timestamp is not supported; the featurelock stores filter on the "
            f"{AS_OF_COLUMN!r} knowledge time instead."
        )
    as_of = check_as_of(entity_df)
    ts_col = infer_event_timestamp_from_entity_df(dict(entity_df.dtypes))
    check_entity_timestamps(entity_df, ts_col)
    return as_of, ts_col


def check_join_keys(entity_df: pd.DataFrame, key_map: dict[str, str], view: str) -> None:
    missing = [c for c in key_map.values() if c not in entity_df.columns]
    if missing:
        raise ValidationError(
            f"entity_df lacks join key column(s) {missing} needed by feature view {view!r}; "
            f"it has {sorted(entity_df.columns)}."
        )


def retrieval_metadata(entity_df: pd.DataFrame, ts_col: str, feature_refs: list[str]) -> RetrievalMetadata:
    stamps = entity_df[ts_col]
    return RetrievalMetadata(
        features=feature_refs,
        keys=[c for c in entity_df.columns if c != ts_col],
        min_event_timestamp=stamps.min().to_pydatetime() if len(stamps) else datetime.min,
        max_event_timestamp=stamps.max().to_pydatetime() if len(stamps) else datetime.min,
    )


def view_requests(
    config: Any,
    feature_views: list[Any],
    feature_refs: list[str],
    full_names: bool,
    locate: Callable[[Any], str] | None = None,
) -> list[ViewRequest]:
    """What to read from each requested view. ``locate`` maps a source to where it is read from
    (default: its Parquet path; a relative one lies in the data directory, see ``data_home``)."""

    def parquet_path(source: Any) -> str:
        path = Path(source.path)
        # resolved now: the feature-table link is read once, so every view comes from one generation
        return str((path if path.is_absolute() else data_home(config) / path).resolve())

    locate = locate or parquet_path
    requests = []
    for fv in feature_views:
        prefix = fv.projection.name_to_use()
        wanted = [ref.split(":", 1)[1] for ref in feature_refs if ref.startswith(f"{prefix}:")]
        if not wanted:
            continue
        source = fv.batch_source
        key_map = fv.projection.join_key_map or {c.name: c.name for c in fv.entity_columns}
        base = fv.projection.name_alias or fv.name
        requests.append(
            ViewRequest(
                name=base,
                path=locate(source),
                join_key_map=dict(key_map),
                features=tuple(wanted),
                output_names=tuple(f"{base}__{f}" if full_names else f for f in wanted),
                ttl=fv.ttl,
                timestamp_field=source.timestamp_field,
                created_timestamp_column=source.created_timestamp_column or None,
                string_features=tuple(f.name for f in fv.features if str(f.dtype) == "String"),
            )
        )
    return requests


def historical_retrieval(
    config: Any,
    feature_views: list[Any],
    feature_refs: list[str],
    entity_df: object,
    full_feature_names: bool,
    filter_by_created_timestamp: bool,
    join: Callable[[pd.DataFrame, list[ViewRequest], str, pd.Timestamp], pd.DataFrame],
    locate: Callable[[Any], str] | None = None,
) -> FrameRetrievalJob:
    """``get_historical_features`` of every featurelock store: the boundary checks, what to read
    from each view, then ``join(entity_df, views, timestamp column, as_of)`` (the store's engine)."""
    as_of, ts_col = check_entity_frame(entity_df, filter_by_created_timestamp)
    assert isinstance(entity_df, pd.DataFrame)
    views = view_requests(config, feature_views, feature_refs, full_feature_names, locate=locate)
    for view in views:
        check_join_keys(entity_df, view.join_key_map, view.name)
    frame = join(entity_df, views, ts_col, as_of)
    return FrameRetrievalJob(frame, full_feature_names, retrieval_metadata(entity_df, ts_col, feature_refs))
