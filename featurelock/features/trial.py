"""A trial run of new versions before they are locked: their SQL (or function) must run.

``featurelock lock`` uses up a version number for good, so a version whose SQL does not compile
is refused before it is locked, naming its module and DuckDB's message. The trial runs each new
feature on a sample of the raw store (its first rows per table, in key order) or, before any
ingest, on empty tables of the declared schemas; a population's SQL must yield its declared
columns; a request feature is called on empty typed inputs. A project that declares Spark
(``feature_store.spark.yaml``) has each new feature run on Spark too, and refused unless its
values equal DuckDB's bit for bit (``engines``). A declared ``lookback`` is tried too: dropping
the rows beyond it must leave the values it covers unchanged (``lookback_difference``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from featurelock.core.errors import LockError
from featurelock.data.schema import EVENT_TS, PANDAS_DTYPES
from featurelock.data.store import RawStore
from featurelock.features.build import compute_view, latest_as_known, naive_utc
from featurelock.features.catalog import Catalog
from featurelock.features.declare import View
from featurelock.features.engines import cross_engine_difference, project_engines
from featurelock.features.population import LABEL
from featurelock.features.request_values import request_column
from featurelock.features.spec import FeatureSpec

SAMPLE_ROWS = 500
_INPUT_DTYPES = {"string": "object", "int": "Int64", "float": "float64", "timestamp": "datetime64[ns, UTC]"}
#: A present value of each input kind, for a row function's trial (beside a missing one).
_TRIAL_VALUES = {"string": "a", "int": 1, "float": 1.5, "timestamp": pd.Timestamp("2000-01-01", tz="UTC")}


def _trial_inputs(kind: str, per_row: bool) -> pd.Series:
    """A request feature's trial input column: empty for a column function; for a row function a
    missing value and a present one (its null policy must hold: a missing input is ``None``)."""
    if not per_row:
        return pd.Series(dtype=_INPUT_DTYPES[kind])
    return pd.Series([None, _TRIAL_VALUES[kind]], dtype=_INPUT_DTYPES[kind])


def sample_tables(catalog: Catalog) -> dict[str, pd.DataFrame]:
    """Each declared raw table: a small sample of the store, or empty with the declared dtypes."""
    project = catalog.project
    store = RawStore(project.raw_dir, project.sources)
    out = {}
    for name, source in project.sources.items():
        rows = store.read(name)
        if rows.empty:
            out[name] = pd.DataFrame({c: pd.Series(dtype=PANDAS_DTYPES[k]) for c, k in source.stored_columns})
        else:
            out[name] = latest_as_known(rows, source.key).head(SAMPLE_ROWS)
    return out


def lookback_difference(
    tables: dict[str, pd.DataFrame],
    view: View,
    keys: tuple[str, ...],
    spec: FeatureSpec,
    static: set[str],
    reference: pd.DataFrame,
) -> str | None:
    """Where a declared lookback is too short on these tables, or None.

    The build relies on it: the value at grid time ``t`` reads only rows with event times in
    ``[t - lookback, t + lookback]``. At two cut times ``c`` (a third and two thirds into the
    sample's events), the rows older than ``c - lookback`` are dropped and the points at or after
    ``c`` must keep their values; then the rows newer than ``c + lookback``, and the points at or
    before ``c``. Static tables are kept whole.
    """
    lookback = spec.lookback
    assert lookback is not None
    dynamic = sorted(t for t in tables if t not in static and len(tables[t]))
    if not dynamic or reference.empty:
        return None
    stamps = pd.concat([tables[t][EVENT_TS] for t in dynamic], ignore_index=True).sort_values()
    grid = reference[[*keys, EVENT_TS]]
    for share in (1 / 3, 2 / 3):
        cut = stamps.iloc[int(share * (len(stamps) - 1))]
        for side, bound in (("older than", cut - lookback), ("newer than", cut + lookback)):
            older = side == "older than"
            trimmed = {
                t: (f[f[EVENT_TS] >= bound] if older else f[f[EVENT_TS] <= bound]) if t in dynamic else f
                for t, f in tables.items()
            }
            got = compute_view(trimmed, view, keys, [spec], grid=grid)[spec.column]
            want = reference[spec.column]
            same = (want.isna() & got.isna()) | (want.astype(object) == got.astype(object)).fillna(False)
            points = (reference[EVENT_TS] >= cut) if older else (reference[EVENT_TS] <= cut)
            differ = (~same & points).to_numpy()
            if differ.any():
                row = reference[differ].iloc[0]
                at = ", ".join(f"{k}={row[k]!r}" for k in keys)
                return (
                    f"at ({at}, {EVENT_TS}={row[EVENT_TS].isoformat()}) the value is "
                    f"{_plain(want[differ].iloc[0])} with every row and {_plain(got[differ].iloc[0])} "
                    f"without the rows {side} {bound.isoformat()} (lookback={lookback})"
                )
    return None


def _plain(value: object) -> str:
    """A value as people read it (no numpy wrapper)."""
    return repr(value.item() if hasattr(value, "item") else value)


def _refuse(module: str, what: str, exc: BaseException) -> LockError:
    message = " ".join(str(exc).split())[:400] or type(exc).__name__
    return LockError(
        f"{module}: {what} ({type(exc).__name__}: {message}). Nothing was locked; fix the module, "
        "then run `featurelock lock` again (a locked version can never be edited)."
    )


def trial_run(catalog: Catalog, refs: list[str]) -> None:
    """Run every version in ``refs``; refuse (LockError naming the module) the first that fails."""
    project = catalog.project
    tables = sample_tables(catalog)
    engines = project_engines(project)
    if "spark" in engines and any(
        catalog.spec(r).view is not None for r in refs if r not in catalog.populations
    ):
        from featurelock.stores.spark_session import spark_missing

        missing = spark_missing()
        if missing:
            raise LockError(
                f"This project declares Spark ({project.feature_repo / 'feature_store.spark.yaml'}), so new "
                f"features must run on it before they are locked, but Spark cannot run here: {missing}. "
                "Install it, or remove that file if the project does not use the spark profile."
            )
    for ref in refs:
        if ref in catalog.populations:
            pop = catalog.populations[ref]
            con = duckdb.connect(":memory:")
            con.execute("SET TimeZone = 'UTC'")
            for name in pop.sources:
                con.register(name, naive_utc(tables[name]))
            columns = [pop.id, EVENT_TS, *pop.keys, *pop.inputs, LABEL]
            try:
                con.execute(f"SELECT {', '.join(columns)} FROM ({pop.sql()}) LIMIT 10").fetchall()
            except Exception as exc:
                raise _refuse(pop.module, f"its SQL does not yield {columns}", exc) from exc
            finally:
                con.close()
            continue
        spec = catalog.spec(ref)
        if spec.kind == "request":
            kinds = [project.request_inputs[n].kind for n in spec.inputs]
            # a column function on empty columns; a row function on a missing and a present value
            args = [_trial_inputs(kind, spec.per_row) for kind in kinds]
            try:
                request_column(spec, args, kinds)
            except Exception as exc:
                raise _refuse(spec.module, "the function fails on its declared inputs", exc) from exc
            continue
        view = project.views[str(spec.view)]
        keys = project.view_join_keys(view.name)
        try:
            reference = compute_view(tables, view, keys, [spec])
        except Exception as exc:
            raise _refuse(spec.module, "its SQL does not run on the declared raw tables", exc) from exc
        if spec.lookback is not None:
            static = {name for name, source in project.sources.items() if source.static}
            try:
                short = lookback_difference(tables, view, keys, spec, static, reference)
            except Exception as exc:
                raise _refuse(spec.module, "its SQL does not run on a window of the raw tables", exc) from exc
            if short:
                raise LockError(
                    f"{spec.module}: lookback={spec.lookback} is too short: {short}. An incremental "
                    "build recomputes only the grid points within lookback of a new batch, so the "
                    "value at t must depend only on rows within lookback of t (in event time, before "
                    "and after). Declare a longer lookback, or none (then its view is recomputed "
                    "whole at every knowledge time). Nothing was locked."
                )
        if len(engines) > 1:
            try:
                difference = cross_engine_difference(tables, view, keys, [spec], engines, reference=reference)
            except Exception as exc:
                raise _refuse(
                    spec.module, f"its SQL does not run on every engine {list(engines)}", exc
                ) from exc
            if difference:
                raise LockError(
                    f"{spec.module}: computes different values on the project's engines ({difference}). "
                    "A floating-point sum or mean depends on the order its terms are added in, which "
                    "differs between engines: aggregate exactly (integers, or DECIMAL), then cast or "
                    "divide once. Nothing was locked."
                )
