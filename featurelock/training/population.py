"""Entity rows of a population version, as known at ``as_of``.

The population's SQL (``featurelock.features.population``) runs in DuckDB over the raw tables it
declares, each as known at ``as_of`` (the newest version of every fact with
``created_timestamp <= as_of``), so a rebuild pinned to ``as_of`` ignores later corrections.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from featurelock.core.errors import DefinitionError
from featurelock.core.hashing import frame_sha256
from featurelock.data.schema import EVENT_TS
from featurelock.data.store import RawStore
from featurelock.features.build import latest_as_known, naive_utc
from featurelock.features.population import LABEL, PopulationSpec
from featurelock.features.project import Project
from featurelock.training.entity_rows import key_column, typed_input


def build_population(
    project: Project, spec: PopulationSpec, as_of: pd.Timestamp, store: RawStore
) -> pd.DataFrame:
    """Entity rows sorted by the id: id, prediction timestamp, keys, request inputs, label."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for name in spec.sources:
        source = project.source(name)
        con.register(name, naive_utc(latest_as_known(store.read(name, as_of), source.key)))
    expected = [spec.id, EVENT_TS, *spec.keys, *spec.inputs, LABEL]
    try:
        frame = con.execute(f"SELECT {', '.join(expected)} FROM ({spec.sql()}) ORDER BY {spec.id}").df()
    except duckdb.Error as exc:
        raise DefinitionError(
            f"population {spec.ref} ({spec.module}): its SQL failed in DuckDB: {str(exc).splitlines()[0]}. "
            f"It must yield the columns {expected}."
        ) from exc
    finally:
        con.close()
    if frame[spec.id].isna().any() or frame[spec.id].duplicated().any():
        raise DefinitionError(
            f"population {spec.ref}: the id column {spec.id!r} has nulls or duplicates; a row id is "
            "unique and stable (e.g. the entity's natural key and its time)."
        )
    out = pd.DataFrame({spec.id: key_column(frame[spec.id].astype(str))})
    out[EVENT_TS] = pd.to_datetime(frame[EVENT_TS]).dt.tz_localize("UTC").dt.as_unit("ns")
    for key in spec.keys:
        out[key] = key_column(frame[key])
    inputs = project.request_inputs
    for name in spec.inputs:
        values = frame[name]
        if inputs[name].kind == "timestamp":
            values = pd.to_datetime(values).dt.tz_localize("UTC")
        out[name] = typed_input(values, inputs[name])
    labels = frame[LABEL]
    if labels.isna().any() or not labels.isin([0, 1]).all():
        raise DefinitionError(f"population {spec.ref}: label must be 0 or 1 in every row.")
    out[LABEL] = labels.astype("int64")
    return out.reset_index(drop=True)


def population_hash(frame: pd.DataFrame) -> str:
    return "sha256:" + frame_sha256(frame)
