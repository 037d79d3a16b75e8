"""Production profile: load the raw tables and the feature tables into PostgreSQL.

The feature tables are computed exactly as locally (DuckDB over the raw batches, Parquet), then
loaded unchanged, so fingerprints and training-set hashes do not depend on the profile.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.paths import feature_tables_dir
from features.pg import replace_table
from features.raw.schema import EVENT_TS, SCHEMAS
from features.raw.store import RawStore
from features.views import VIEWS


def publish_raw(store: RawStore | None = None, progress: Callable[[str], None] = lambda _m: None) -> None:
    store = store or RawStore()
    for name in sorted(SCHEMAS):
        rows = replace_table(store.read(name), f"raw_{name}", index=[SCHEMAS[name].key, EVENT_TS])
        progress(f"    postgres raw_{name}: {rows:,} rows")


def publish_feature_tables(
    tables_dir: Path | None = None, progress: Callable[[str], None] = lambda _m: None
) -> None:
    folder = tables_dir or feature_tables_dir()
    for name in sorted(VIEWS):
        path = folder / f"{name}.parquet"
        if not path.exists():
            continue
        rows = replace_table(pd.read_parquet(path), name, index=[*VIEWS[name].join_keys, EVENT_TS])
        progress(f"    postgres {name}: {rows:,} rows")
