"""Materialization into the online store, incremental with our own high-water mark.

Feast's ``materialize-incremental`` starts at ``now - ttl`` and writes nothing on historical data;
``featurelock materialize`` starts from the beginning of the data the first time, then resumes.
The high-water mark per view is (``end``: event time materialized up to, ``known``: newest
knowledge time seen), so a later correction to an already materialized event time is picked up.
The mark is verified against the store itself: each write leaves a token in the online store (and
removes it while writing), and the mark records it; a store that was flushed or lost, or that a
killed materialize left half written (possibly ahead of its mark), holds another token or none,
and that view is emptied and refilled from the start instead of resumed.
For each entity the row written is the newest by the offline store's total order (event time,
then knowledge time, then the MD5 of the values); the online store's monotonic upsert keeps an
older row from ever replacing a newer one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from featurelock.core.atomic import write_text_atomic
from featurelock.core.errors import StoreUnavailableError, ValidationError
from featurelock.core.files import read_json
from featurelock.core.settings import Profile
from featurelock.core.sql import string_literal
from featurelock.data.validate import check_knowledge_time
from featurelock.features.feast_repo import feature_store
from featurelock.features.project import Project
from featurelock.stores.feast_private import arrow_to_protos, online_store_of, provider_of
from featurelock.stores.pit import tie_break_sql


@dataclass(frozen=True)
class ViewMaterialization:
    view: str
    rows: int
    start: str | None
    end: str
    seconds: float


def state_path(project: Project, profile: Profile = Profile.LOCAL) -> Path:
    """The high-water marks of one profile's online store (each profile has its own store)."""
    return project.home / f"materialize.{profile}.json"


def read_state(project: Project, profile: Profile = Profile.LOCAL) -> dict[str, dict[str, str]]:
    path = state_path(project, profile)
    if not path.exists():
        return {}
    fix = "remove it: the next `featurelock materialize` refills the online store from the start."
    views = read_json(path, "the online store's materialize marks", fix).get("views")
    if not isinstance(views, dict):
        raise ValidationError(f"{path} is not the online store's materialize marks (no views); {fix}")
    return views


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def latest_rows(
    project: Project, fv: Any, end: pd.Timestamp | None, mark: dict[str, str] | None
) -> tuple[Any, pd.Timestamp, Any]:
    """Arrow table of the rows to write for one view, the end used, and the newest knowledge time."""
    source = fv.batch_source
    keys = [c.name for c in fv.entity_columns]
    feats = [f.name for f in fv.features]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # The feature table as built (Parquet) on every profile: PostgreSQL holds a copy of it.
    path = (project.feature_tables_dir / f"{fv.name}.parquet").resolve()  # one generation throughout
    table_sql = f"read_parquet({string_literal(path)})"
    ts, created = _q(source.timestamp_field), _q(source.created_timestamp_column)
    if end is None:
        end = pd.Timestamp(con.execute(f"SELECT max({ts}) FROM {table_sql}").fetchall()[0][0])
        end = end.tz_convert("UTC") if end.tzinfo else end.tz_localize("UTC")
    where = [f"{ts} <= TIMESTAMPTZ '{end.isoformat()}'"]
    if mark:
        where.append(f"({ts} > TIMESTAMPTZ '{mark['end']}' OR {created} > TIMESTAMPTZ '{mark['known']}')")
    tie = tie_break_sql([_q(f) for f in feats], "CAST({} AS VARCHAR)")
    sql = (
        f"SELECT {', '.join(_q(k) for k in keys)}, {', '.join(_q(f) for f in feats)}, {ts}, {created} "
        f"FROM {table_sql} WHERE {' AND '.join(where)} "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(_q(k) for k in keys)} "
        f"ORDER BY {ts} DESC, {created} DESC, {tie} DESC) = 1 "
        f"ORDER BY {', '.join(_q(k) for k in keys)}"
    )
    table = con.sql(sql).to_arrow_table()
    known = con.execute(
        f"SELECT max({created}) FROM {table_sql} WHERE {ts} <= TIMESTAMPTZ '{end.isoformat()}'"
    ).fetchall()[0][0]
    con.close()
    return table, end, known


ATTEMPTS = 4  # a write, then three retries after 0.5, 1 and 2 seconds


def retrying(what: str, progress: Callable[[str], None], call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``, retried with exponential backoff while the store is unavailable (a Redis or
    PostgreSQL restart, a dropped connection). Writes are idempotent (the monotonic upsert keeps the
    newest row), so a repeated batch changes nothing; after the last attempt the error is raised."""
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    def said(state: Any) -> None:
        error = state.outcome.exception() if state.outcome else None
        progress(f"    {what}: {error}; retry {state.attempt_number} of {ATTEMPTS - 1}")

    for attempt in Retrying(
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_exponential(multiplier=0.5, max=4),
        retry=retry_if_exception_type(StoreUnavailableError),
        before_sleep=said,
        reraise=True,
    ):
        with attempt:
            return call(*args)
    return None  # not reached: the last attempt returns or raises


def reset_online_store(fs: Any, views: list[Any]) -> None:
    """Empty the online tables of ``views`` (drop and recreate, through the store's own API)."""
    store = online_store_of(fs)
    store.update(
        fs.config,
        tables_to_delete=views,
        tables_to_keep=[],
        entities_to_delete=[],
        entities_to_keep=[],
        partial=True,
    )
    store.update(
        fs.config,
        tables_to_delete=[],
        tables_to_keep=views,
        entities_to_delete=[],
        entities_to_keep=[],
        partial=True,
    )


def materialize(
    project: Project,
    end: object | None = None,
    profile: Profile = Profile.LOCAL,
    views: list[str] | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    rewind: bool = False,
    store: Any | None = None,
) -> list[ViewMaterialization]:
    """Write each view's newest rows up to ``end`` (default: the newest event) to the online store.

    With ``rewind``, a view whose high-water mark lies after ``end`` is emptied and rebuilt up to
    ``end`` (the online store then answers as of ``end``, e.g. for a parity check at that time).
    """
    import time

    end_ts = check_knowledge_time(end) if end is not None else None
    fs = store or feature_store(project, profile)
    provider = provider_of(fs)
    online = online_store_of(fs)
    online = online if hasattr(online, "read_marker") else None  # ours verify their marks
    state = read_state(project, profile)
    results = []
    all_views = sorted(fs.list_feature_views(), key=lambda v: v.name)
    unknown = sorted(set(views or []) - {v.name for v in all_views})
    if unknown:
        raise ValidationError(f"views={unknown} are not feature views; known: {[v.name for v in all_views]}.")
    for fv in all_views:
        if views and fv.name not in views:
            continue
        start = time.perf_counter()
        mark = state.get(fv.name)
        if mark and online is not None and online.read_marker(fs.config, fv.name) != mark.get("token"):
            progress(
                f"    {fv.name}: the online store does not hold what its mark says (lost, flushed, or a "
                "materialize was killed while writing): refilling it from the start"
            )
            reset_online_store(fs, [fv])
            mark = None
        if mark and end_ts is not None and pd.Timestamp(mark["end"]) > end_ts:
            if not rewind:
                raise ValidationError(
                    f"The online store of {fv.name!r} is materialized up to {mark['end']}, after "
                    f"end={end_ts.isoformat()}; an online store never goes back in time. Pass rewind=True "
                    "(featurelock materialize --rewind) to rebuild it as of that end."
                )
            reset_online_store(fs, [fv])
            mark = None
        table, view_end, known = latest_rows(project, fv, end_ts, mark)
        join_keys = {e.join_key: e.value_type for e in (fs.get_entity(n) for n in fv.entities)}
        # Feast converts only the first record batch it is given: hand it exactly one.
        rows = arrow_to_protos(table.combine_chunks(), fv, join_keys) if table.num_rows else []
        if online is not None:  # while writing, the store matches no mark: a kill here is detected
            retrying(fv.name, progress, online.write_marker, fs.config, fv.name, None)
        if rows:
            retrying(fv.name, progress, provider.online_write_batch, fs.config, fv, rows, None)
        token = uuid.uuid4().hex  # an opaque identity of this write, kept in the store and the mark
        if online is not None:
            retrying(fv.name, progress, online.write_marker, fs.config, fv.name, token)
        state[fv.name] = {
            "end": view_end.isoformat(),
            "known": pd.Timestamp(known).tz_convert("UTC").isoformat()
            if known is not None
            else view_end.isoformat(),
            "token": token,
        }
        write_text_atomic(
            state_path(project, profile), json.dumps({"views": state}, sort_keys=True, indent=2) + "\n"
        )
        took = time.perf_counter() - start
        results.append(
            ViewMaterialization(fv.name, len(rows), mark["end"] if mark else None, view_end.isoformat(), took)
        )
        progress(f"    {fv.name:<16} {len(rows):>8,} rows up to {view_end.isoformat()} in {took:.1f}s")
    return results
