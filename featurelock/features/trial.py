"""A trial run of new versions before they are locked: their SQL (or function) must run.

``featurelock lock`` uses up a version number for good, so a version whose SQL does not compile
is refused before it is locked, naming its module and DuckDB's message. The trial runs each new
feature on a sample of the raw store (its first rows per table, in key order) or, before any
ingest, on empty tables of the declared schemas; a population's SQL must yield its declared
columns; a request feature is called on empty typed inputs. A project that declares Spark
(``feature_store.spark.yaml``) has each new feature run on Spark too, and refused unless its
values equal DuckDB's bit for bit (``engines``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from featurelock.core.errors import LockError
from featurelock.data.schema import EVENT_TS, PANDAS_DTYPES
from featurelock.data.store import RawStore
from featurelock.features.build import compute_view, latest_as_known, naive_utc
from featurelock.features.catalog import Catalog
from featurelock.features.engines import cross_engine_difference, project_engines
from featurelock.features.population import LABEL
from featurelock.features.request_values import request_column

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
