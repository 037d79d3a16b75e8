"""Production profile: load the raw tables and the feature tables into PostgreSQL.

The feature tables are computed exactly as locally (DuckDB over the raw batches, Parquet), then
loaded unchanged, so fingerprints and training-set hashes do not depend on the profile.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from featurelock.data.schema import EVENT_TS
from featurelock.data.store import RawStore
from featurelock.features.feast_repo import production_settings
from featurelock.features.project import Project
from featurelock.stores.pg import replace_table, replace_tables


def publish_raw(project: Project, store: RawStore, progress: Callable[[str], None] = lambda _m: None) -> None:
    settings = production_settings(project)
    for name, source in store.sources.items():
        rows = replace_table(store.read(name), f"raw_{name}", index=[source.key, EVENT_TS], settings=settings)
        progress(f"    postgres raw_{name}: {rows:,} rows")


def publish_feature_tables(project: Project, progress: Callable[[str], None] = lambda _m: None) -> None:
    """Load the current generation's tables into PostgreSQL, all swapped in one transaction."""
    folder = project.feature_tables_dir.resolve()  # one generation, even if a build switches meanwhile
    tables = {
        name: (pd.read_parquet(folder / f"{name}.parquet"), [*project.view_join_keys(name), EVENT_TS])
        for name in sorted(project.views)
        if (folder / f"{name}.parquet").exists()
    }
    for name, rows in replace_tables(tables, production_settings(project)).items():
        progress(f"    postgres {name}: {rows:,} rows")
