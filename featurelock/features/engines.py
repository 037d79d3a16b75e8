"""The engines a project computes its feature tables on, and the check that they agree bit for bit.

DuckDB is every project's engine. A project that has ``feature_repo/feature_store.spark.yaml``
(the ``spark`` profile) declares Spark too: its feature tables must then be the same on both,
which ``featurelock lock`` checks for every new version (``trial``) before it is locked.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from featurelock.data.schema import EVENT_TS
from featurelock.features.build import compute_view
from featurelock.features.declare import View
from featurelock.features.project import Project
from featurelock.features.spec import FeatureSpec


def project_engines(project: Project) -> tuple[str, ...]:
    """``("duckdb",)``, plus ``"spark"`` when the project has a spark profile."""
    spark = (project.feature_repo / "feature_store.spark.yaml").exists()
    return ("duckdb", "spark") if spark else ("duckdb",)


def _bits(values: pd.Series) -> np.ndarray:
    """Values comparable bit for bit: floats by their IEEE bits (NaN and null as one), the rest as objects."""
    if pd.api.types.is_float_dtype(values.dtype):
        array = values.to_numpy(dtype="float64", na_value=np.nan)
        bits = array.view(np.int64).copy()
        bits[np.isnan(array)] = np.int64(0x7FF8000000000000)
        return bits
    return values.astype(object).where(values.notna(), None).to_numpy()


def _text(value: object) -> str:
    return repr(value.item()) if isinstance(value, np.generic) else repr(value)


def first_difference(a: pd.DataFrame, b: pd.DataFrame, keys: tuple[str, ...]) -> str | None:
    """Where two builds of one view differ (shape, columns, a key, or a value's bits), else None."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return f"shapes differ: {len(a)} rows {list(a.columns)} vs {len(b)} rows {list(b.columns)}"
    for column in a.columns:
        left, right = _bits(a[column]), _bits(b[column])
        differ = np.flatnonzero(left != right)
        if len(differ):
            i = int(differ[0])
            at = ", ".join(f"{k}={a[k].iloc[i]}" for k in (*keys, EVENT_TS))
            return (
                f"{column} at ({at}): {_text(a[column].iloc[i])} vs {_text(b[column].iloc[i])} "
                f"({len(differ)} of {len(a)} rows differ)"
            )
    return None


def cross_engine_difference(
    tables: Mapping[str, pd.DataFrame],
    view: View,
    keys: tuple[str, ...],
    specs: list[FeatureSpec],
    engines: tuple[str, ...] = ("duckdb", "spark"),
    grid: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
) -> str | None:
    """The view's table computed on each engine; the first difference from DuckDB's (``reference``,
    when the caller computed it already), or None."""
    if reference is None:
        reference = compute_view(tables, view, keys, specs, grid=grid)
    for engine in engines:
        if engine == "duckdb":
            continue
        other = compute_view(tables, view, keys, specs, grid=grid, engine=engine)
        difference = first_difference(reference, other, keys)
        if difference:
            return f"DuckDB vs {engine}: {difference}"
    return None
