"""The boundary every featurelock offline store shares: entity-frame checks, view requests, results.

**as_of** (the knowledge time) travels in the entity frame: a column ``featurelock_as_of`` holding
one timestamp (the same in every row); rows with ``created_timestamp`` after it are invisible.
featurelock always sets it. A plain Feast call without it reads everything known: as_of is then the
newest ``created_timestamp`` of the views read, recorded in the job's metadata
(``metadata.featurelock_as_of``); the offline store setting ``require_as_of: true`` refuses such a
call instead.

What Feast accepts is accepted (drop-in): naive timestamps are UTC, an ``event_timestamp`` column
of Python datetimes (object dtype) is parsed, views without entities join on time alone, a source's
``field_mapping`` renames its columns. On-demand feature views (pandas and python modes) are
applied by Feast to our result, as after its own store's join; what featurelock cannot honour is
refused, not dropped (a substrait-mode view).

**Knowledge per row** is Feast's ``filter_by_created_timestamp=True`` (opt-in since Feast 0.66):
each entity row also sees only feature rows with ``created_timestamp <=`` its own timestamp (what
an online store materialized after each batch could have served then), and none after as_of.
It is the as_of rule applied per row: a row at ``t`` is read with as_of ``min(t, as_of)``, and since
visibility changes only at the views' knowledge times, rows are joined in slices, one per
knowledge time (``join_row_knowledge``), by the store's own join. Views without a created
timestamp column are unaffected, as in Feast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from feast.errors import FeastEntityDFMissingColumnsError
from feast.feature_view import DUMMY_ENTITY_ID
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.offline_stores.offline_utils import (
    DEFAULT_ENTITY_DF_EVENT_TIMESTAMP_COL,
    infer_event_timestamp_from_entity_df,
)

from featurelock.core.atomic import write_atomic
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

    def __init__(
        self,
        frame: pd.DataFrame,
        full_feature_names: bool,
        metadata: RetrievalMetadata,
        repo_path: Path | None = None,
        on_demand: list[Any] | None = None,
    ) -> None:
        super().__init__()
        self._on_demand = list(on_demand or [])
        self._frame = frame
        self._full_feature_names = full_feature_names
        self._metadata = metadata
        self._repo_path = repo_path

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        return self._frame

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        return pa.Table.from_pandas(self._frame, preserve_index=False)

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[Any]:
        return self._on_demand  # Feast applies them to our frame (RetrievalJob.to_arrow)

    def persist(self, storage: Any, allow_overwrite: bool = False, timeout: int | None = None) -> None:
        """Write the result as Parquet to a file saved-dataset storage (atomically)."""
        from feast.errors import SavedDatasetLocationAlreadyExists
        from feast.infra.offline_stores.file_source import SavedDatasetFileStorage

        if not isinstance(storage, SavedDatasetFileStorage):
            raise NotImplementedError(
                f"persist() writes to file storage only; got {type(storage).__name__}. Use "
                "SavedDatasetFileStorage(path=...), or `featurelock dataset build` for training sets."
            )
        path = Path(storage.file_options.uri)
        if not path.is_absolute() and self._repo_path is not None:
            path = self._repo_path / path
        if path.exists() and not allow_overwrite:
            raise SavedDatasetLocationAlreadyExists(location=str(path))
        table = pa.Table.from_pandas(self._frame, preserve_index=False)
        if path.suffix != ".parquet" or path.is_dir():
            # as Feast's own store: a path not ending in .parquet is a dataset folder; ours holds one
            # file of a fixed name (overwriting replaces the folder's files, atomically each)
            for old in sorted(path.glob("*.parquet")) if path.is_dir() else []:
                if old.name != "part-0.parquet":
                    old.unlink()
            path = path / "part-0.parquet"
        write_atomic(path, lambda tmp: pq.write_table(table, tmp))

    @property
    def metadata(self) -> RetrievalMetadata | None:
        return self._metadata


class MissingJoinKeysError(ValidationError, FeastEntityDFMissingColumnsError):
    """Join key columns missing from the entity frame (Feast's error type, featurelock's message)."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)

    def __str__(self) -> str:
        return str(self.args[0])


def as_utc(series: pd.Series, column: str) -> pd.Series:
    """Timestamps as Feast reads them: naive ones are UTC, object columns of datetimes are parsed."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(series.dtype):
        return series.dt.tz_localize("UTC")
    if series.dtype == object:
        try:
            return pd.to_datetime(series, utc=True)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"entity_df[{column!r}] holds values that are not timestamps ({exc}); "
                "pass datetimes or ISO-8601 strings."
            ) from exc
    raise ValidationError(f"entity_df[{column!r}] has dtype {series.dtype}; expected timestamps.")


def check_as_of(entity_df: pd.DataFrame) -> pd.Timestamp:
    """The single as_of carried by ``entity_df`` (its column already in UTC), or a ValidationError."""
    column = entity_df[AS_OF_COLUMN]
    values = column.dropna().unique()
    if len(values) != 1 or column.isna().any():
        raise ValidationError(
            f"entity_df[{AS_OF_COLUMN!r}] holds {len(values)} distinct value(s) and "
            f"{int(column.isna().sum())} null(s); a retrieval has exactly one as_of."
        )
    return pd.Timestamp(values[0]).tz_convert("UTC")


def check_entity_timestamps(entity_df: pd.DataFrame, column: str) -> None:
    series = entity_df[column]
    if series.isna().any():
        raise ValidationError(f"entity_df[{column!r}] has {int(series.isna().sum())} null timestamp(s).")
    ns = series.dt.as_unit("ns").astype("int64") % 1000
    if (ns != 0).any():
        raise ValidationError(
            f"entity_df[{column!r}] has sub-microsecond timestamps (e.g. {series[ns != 0].iloc[0]}); "
            "the offline store works in microseconds. Round them with .dt.floor('us')."
        )


@dataclass(frozen=True)
class EntityFrame:
    """What the boundary checks return: the frame with UTC timestamps, its timestamp column and
    its as_of (None when the caller gave none)."""

    frame: pd.DataFrame
    ts_col: str
    as_of: pd.Timestamp | None


def check_entity_frame(entity_df: object, require_as_of: bool = False) -> EntityFrame:
    """Boundary checks shared by our offline stores: type, then time, then as_of."""
    if entity_df is None:
        raise ValidationError(
            "entity_df is None: retrieval over a start_date/end_date range with no entity frame (Feast's "
            "non-entity mode, which Feast's DuckDB store lacks too) is not supported by the featurelock "
            "stores; pass an entity frame with the keys and an event_timestamp for each row."
        )
    if not isinstance(entity_df, pd.DataFrame):
        raise ValidationError(
            f"entity_df must be a pandas DataFrame; got {type(entity_df).__name__} (SQL entity queries "
            "are not supported by the featurelock stores)."
        )
    frame = entity_df.copy(deep=False)
    if DEFAULT_ENTITY_DF_EVENT_TIMESTAMP_COL in frame.columns:
        ts_col = DEFAULT_ENTITY_DF_EVENT_TIMESTAMP_COL
    else:
        candidates = [c for c in frame.columns if c != AS_OF_COLUMN]
        ts_col = infer_event_timestamp_from_entity_df(dict(frame[candidates].dtypes))
    frame[ts_col] = as_utc(frame[ts_col], ts_col)
    check_entity_timestamps(frame, ts_col)
    if AS_OF_COLUMN in frame.columns:
        frame[AS_OF_COLUMN] = as_utc(frame[AS_OF_COLUMN], AS_OF_COLUMN)
        return EntityFrame(frame, ts_col, check_as_of(frame))
    if require_as_of:
        raise ValidationError(
            f"entity_df has no {AS_OF_COLUMN!r} column, and this store is set to require_as_of: the "
            f"knowledge time of the retrieval must be explicit. Add entity_df[{AS_OF_COLUMN!r}] = "
            "<timestamp> (the same in every row), or build training sets with featurelock.api (as_of=...)."
        )
    return EntityFrame(frame, ts_col, None)


def check_join_keys(entity_df: pd.DataFrame, key_map: dict[str, str], view: str) -> None:
    missing = [c for c in key_map.values() if c not in entity_df.columns]
    if missing:
        raise MissingJoinKeysError(
            f"entity_df lacks join key column(s) {missing} needed by feature view {view!r}; "
            f"it has {sorted(entity_df.columns)}."
        )


def on_demand_views(
    feature_views: list[Any], feature_refs: list[str], registry: Any, project: str | None
) -> tuple[list[str], list[Any]]:
    """The refs our join reads (the batch views'), and the on-demand views requested: Feast applies
    their transformations to our result (``RetrievalJob.to_arrow``), as after its own store's join.
    An on-demand view Feast cannot find, or one in ``substrait`` mode (an ibis plan our engines do
    not run), is refused by name rather than dropped."""
    known = {fv.projection.name_to_use() for fv in feature_views}
    wanted = sorted({ref.split(":", 1)[0] for ref in feature_refs} - known)
    if not wanted:
        return feature_refs, []
    found: list[Any] = []
    if registry is not None and project is not None:
        from feast.on_demand_feature_view import OnDemandFeatureView

        found = OnDemandFeatureView.get_requested_odfvs(feature_refs, project, registry)
    names = {odfv.projection.name_to_use() for odfv in found}
    missing = [name for name in wanted if name not in names]
    ibis_only = sorted(odfv.name for odfv in found if getattr(odfv, "mode", "") == "substrait")
    if missing or ibis_only:
        raise ValidationError(
            f"On-demand feature view(s) {missing or ibis_only} requested, which the featurelock offline "
            "stores cannot apply (not in the registry, or in substrait mode: an ibis plan); their results "
            "would be silently missing. Use mode='pandas' or 'python', or compute request-time features as "
            "featurelock request_feature modules."
        )
    return [ref for ref in feature_refs if ref.split(":", 1)[0] in known], found


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
        key_map = {k: v for k, v in key_map.items() if k != DUMMY_ENTITY_ID}  # a view without entities
        renamed = {new: old for old, new in (source.field_mapping or {}).items()}
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
                source_columns={n: renamed[n] for n in sorted(renamed) if n in (*key_map, *wanted)},
            )
        )
    return requests


Join = Callable[[pd.DataFrame, list[ViewRequest], str, pd.Timestamp | None], pd.DataFrame]


def knowledge_slices(
    stamps: pd.Series, as_of: pd.Timestamp | None, knowledge: list[pd.Timestamp]
) -> tuple[np.ndarray, list[pd.Timestamp]]:
    """For knowledge per row: each row's slice number and each slice's as_of.

    A row at ``t`` may see feature rows created at or before ``min(t, as_of)``; the views'
    knowledge times (``knowledge``, ascending) are the only moments that visibility changes, so
    the row's slice is the newest knowledge time at or before ``min(t, as_of)``. Rows before
    every knowledge time see nothing: their slice's as_of is one microsecond before the first.
    """
    known = [k for k in knowledge if as_of is None or k <= as_of]
    if not known:
        return np.zeros(len(stamps), dtype=np.int64), [knowledge[0] - pd.Timedelta(microseconds=1)]
    bounds = pd.DatetimeIndex(known).tz_convert("UTC").as_unit("ns").asi8
    limits = pd.DatetimeIndex(stamps).tz_convert("UTC").as_unit("ns").asi8
    if as_of is not None:
        limits = np.minimum(limits, pd.Timestamp(as_of).tz_convert("UTC").as_unit("ns").value)
    slot = np.searchsorted(bounds, limits, side="right")  # 0: before every knowledge time
    return slot.astype(np.int64), [known[0] - pd.Timedelta(microseconds=1), *known]


def join_row_knowledge(
    frame: pd.DataFrame,
    views: list[ViewRequest],
    ts_col: str,
    as_of: pd.Timestamp | None,
    knowledge: list[pd.Timestamp],
    join: Join,
) -> pd.DataFrame:
    """``join`` with knowledge per row: one join per knowledge slice (``knowledge_slices``), each
    with its own as_of, the rows put back in input order."""
    if not knowledge:  # no view has a created timestamp: nothing to filter
        return join(frame, views, ts_col, as_of)
    slot, slice_as_of = knowledge_slices(frame[ts_col], as_of, knowledge)
    parts = []
    for number in np.unique(slot):  # ascending, so the output does not depend on the input's order
        rows = np.flatnonzero(slot == number)
        part = join(frame.iloc[rows].reset_index(drop=True), views, ts_col, slice_as_of[number])
        part.index = rows
        parts.append(part)
    if not parts:
        return join(frame, views, ts_col, as_of)
    return pd.concat(parts).sort_index(kind="mergesort").reset_index(drop=True)


def historical_retrieval(
    config: Any,
    feature_views: list[Any],
    feature_refs: list[str],
    entity_df: object,
    full_feature_names: bool,
    filter_by_created_timestamp: bool,
    join: Join,
    knowledge_times: Callable[[list[ViewRequest]], list[pd.Timestamp]],
    locate: Callable[[Any], str] | None = None,
    registry: Any = None,
    project: str | None = None,
) -> FrameRetrievalJob:
    """``get_historical_features`` of every featurelock store: the boundary checks, what to read
    from each view, then ``join(entity_df, views, timestamp column, as_of)`` (the store's engine),
    once, or once per knowledge slice with ``filter_by_created_timestamp`` (knowledge per row).
    Without an as_of in the frame, the newest of ``knowledge_times(views)`` is the one recorded."""
    require = bool(getattr(config.offline_store, "require_as_of", False))
    checked = check_entity_frame(entity_df, require)
    joined_refs, on_demand = on_demand_views(feature_views, feature_refs, registry, project)
    views = view_requests(config, feature_views, joined_refs, full_feature_names, locate=locate)
    for view in views:
        check_join_keys(checked.frame, view.join_key_map, view.name)
    as_of, source = checked.as_of, "entity_df"
    knowledge: list[pd.Timestamp] = []
    if as_of is None or filter_by_created_timestamp:
        knowledge = knowledge_times(views)
    if as_of is None:
        as_of, source = (knowledge[-1] if knowledge else None), "newest knowledge time of the views read"
    if filter_by_created_timestamp:
        frame = join_row_knowledge(checked.frame, views, checked.ts_col, as_of, knowledge, join)
    else:
        frame = join(checked.frame, views, checked.ts_col, as_of)
    metadata = retrieval_metadata(checked.frame, checked.ts_col, feature_refs)
    metadata.featurelock_as_of = as_of  # type: ignore[attr-defined]
    metadata.featurelock_as_of_source = source  # type: ignore[attr-defined]
    metadata.featurelock_knowledge = "row" if filter_by_created_timestamp else "as-of"  # type: ignore[attr-defined]
    repo = getattr(config, "repo_path", None)
    return FrameRetrievalJob(
        frame, full_feature_names, metadata, Path(str(repo)) if repo else None, on_demand=on_demand
    )
