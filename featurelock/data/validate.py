"""``check_*`` helpers that validate a batch before anything is written."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from featurelock.core.errors import NotFoundError, SchemaError, ValidationError
from featurelock.core.times import aware_timestamp
from featurelock.data.schema import CREATED_TS, EVENT_TS, PANDAS_DTYPES, Source


def check_table(table: str, sources: Mapping[str, Source]) -> Source:
    if table not in sources:
        raise NotFoundError(
            f"table={table!r} is not a raw table of this project; expected one of {sorted(sources)}."
        )
    return sources[table]


#: The span of nanosecond timestamps (pandas: 1677-09-21 to 2262-04-11), in whole years.
EARLIEST, LATEST = pd.Timestamp("1678-01-01T00:00:00Z"), pd.Timestamp("2262-01-01T00:00:00Z")


def check_knowledge_time(knowledge_time: object, what: str = "knowledge_time") -> pd.Timestamp:
    """A knowledge time (a batch's, or an as_of): a timezone-aware timestamp, returned in UTC;
    ``what`` names the argument in the errors."""
    ts = aware_timestamp(knowledge_time, what)
    if not EARLIEST <= ts <= LATEST:
        raise ValidationError(
            f"{what}={knowledge_time!r} is outside the supported range {EARLIEST.date()} to "
            f"{LATEST.date()} (timestamps are kept in nanoseconds)."
        )
    return ts


def _check_kind(table: str, column: str, kind: str, series: pd.Series) -> pd.Series:
    """Return ``series`` cast to the canonical dtype of ``kind``, or raise SchemaError."""
    dtype = series.dtype
    where = f"Column {column!r} of table {table!r}"
    if kind == "timestamp":
        if pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
            raise SchemaError(
                f"{where} holds naive timestamps (dtype {dtype}); localize them to UTC first, "
                "e.g. series.dt.tz_localize('UTC'), or tz_localize(<the local zone>).dt.tz_convert('UTC')."
            )
        if not isinstance(dtype, pd.DatetimeTZDtype):
            raise SchemaError(f"{where} has dtype {dtype}; expected timezone-aware timestamps.")
        return series.dt.tz_convert("UTC").dt.as_unit("ns")
    if kind == "string":
        values = series.dropna()
        if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)) or not all(
            isinstance(v, str) for v in values
        ):
            bad = next((v for v in values if not isinstance(v, str)), None)
            raise SchemaError(
                f"{where} has dtype {dtype} (e.g. {bad!r}); expected strings. Cast it with .astype(str)."
            )
        return series.astype(object).where(series.notna(), None)
    if kind == "int":
        if not pd.api.types.is_integer_dtype(dtype):
            if pd.api.types.is_float_dtype(dtype):
                values = series.dropna()
                if (values == values.round()).all():
                    return series.astype("Int64")
            raise SchemaError(f"{where} has dtype {dtype}; expected integers (Int64).")
        return series.astype("Int64")
    if kind == "float":
        if not (pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)):
            raise SchemaError(f"{where} has dtype {dtype}; expected floating-point numbers.")
        return series.astype("float64")
    if kind == "bool":
        if not pd.api.types.is_bool_dtype(dtype):
            raise SchemaError(f"{where} has dtype {dtype}; expected booleans.")
        return series.astype("boolean")
    raise AssertionError(f"unknown kind {kind!r}")


def check_batch(schema: Source, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a batch against ``schema`` and return it canonical: dtypes fixed, rows sorted."""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"frame must be a pandas DataFrame; got {type(frame).__name__}.")
    expected = [name for name, _ in schema.all_columns]
    if CREATED_TS in frame.columns:
        raise SchemaError(
            f"Batch for table {schema.name!r} has a {CREATED_TS!r} column; the knowledge time is "
            "declared by the batch (knowledge_time=...), drop the column."
        )
    missing = [c for c in expected if c not in frame.columns]
    extra = sorted(set(frame.columns) - set(expected))
    if missing or extra:
        raise SchemaError(
            f"Batch for table {schema.name!r} does not match its schema: missing columns {missing}, "
            f"unexpected columns {extra}. Expected exactly {expected}."
        )
    out = pd.DataFrame(
        {name: _check_kind(schema.name, name, kind, frame[name]) for name, kind in schema.all_columns}
    )
    for column in (schema.key, EVENT_TS):
        nulls = int(out[column].isna().sum())
        if nulls:
            raise SchemaError(
                f"Column {column!r} of table {schema.name!r} is the table's key but has {nulls} null "
                "value(s); drop or fill those rows before ingesting."
            )
    dup = out.duplicated([schema.key, EVENT_TS], keep=False)
    if dup.any():
        first = out.loc[dup, [schema.key, EVENT_TS]].iloc[0].tolist()
        raise SchemaError(
            f"Batch for table {schema.name!r} has {int(dup.sum())} rows sharing (key, event_timestamp), "
            f"e.g. {first}; a batch holds one row per fact. Deduplicate it, or send a correction "
            "as a separate batch with a later knowledge time."
        )
    return out.sort_values([schema.key, EVENT_TS], kind="mergesort").reset_index(drop=True)


def expected_dtypes(schema: Source) -> dict[str, str]:
    return {name: PANDAS_DTYPES[kind] for name, kind in schema.stored_columns}
