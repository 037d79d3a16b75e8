"""PostgreSQL for the production profile: settings from the environment, connections, table loads.

Settings (defaults are this machine's local server; no secret is committed):
``FEATURELOCK_PG_HOST`` (127.0.0.1), ``FEATURELOCK_PG_PORT`` (5432), ``FEATURELOCK_PG_DATABASE``
(test), ``FEATURELOCK_PG_USER`` (postgres), ``FEATURELOCK_PG_PASSWORD`` (empty),
``FEATURELOCK_PG_SCHEMA`` (featurelock). Tables are replaced atomically: loaded into a new table,
then swapped in one transaction, so a failed load leaves the previous table intact.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from featurelock.core.errors import NotFoundError, StoreUnavailableError, ValidationError


@dataclass(frozen=True)
class PgSettings:
    host: str
    port: int
    database: str
    user: str
    password: str
    schema: str

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def sqlalchemy_url(self) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{self.database}"


def project_schema(project: str | None) -> str:
    """The schema of a project's tables on a shared server: one per Feast project (as Feast keys its
    registry and Redis entries by project), so two projects with a view of the same name never
    meet; ``featurelock`` without a project."""
    if not project:
        return "featurelock"
    return "featurelock_" + re.sub(r"[^0-9a-z_]", "_", project.lower())


def pg_settings(project: str | None = None) -> PgSettings:
    """Servers from the environment (defaults: this machine's PostgreSQL); the schema is
    ``FEATURELOCK_PG_SCHEMA`` if set, else the project's own (``project_schema``)."""
    env = os.environ.get
    schema = env("FEATURELOCK_PG_SCHEMA") or project_schema(project)
    if not schema.replace("_", "").isalnum():
        raise ValidationError(f"FEATURELOCK_PG_SCHEMA={schema!r} must be letters, digits and underscores.")
    try:
        port = int(env("FEATURELOCK_PG_PORT", "5432"))
    except ValueError as exc:
        raise ValidationError(
            f"FEATURELOCK_PG_PORT={env('FEATURELOCK_PG_PORT')!r} is not a port number."
        ) from exc
    return PgSettings(
        host=env("FEATURELOCK_PG_HOST", "127.0.0.1"),
        port=port,
        database=env("FEATURELOCK_PG_DATABASE", "test"),
        user=env("FEATURELOCK_PG_USER", "postgres"),
        password=env("FEATURELOCK_PG_PASSWORD", ""),
        schema=schema,
    )


def connect(settings: PgSettings | None = None) -> Any:
    import psycopg

    s = settings or pg_settings()
    try:
        return psycopg.connect(
            host=s.host,
            port=s.port,
            dbname=s.database,
            user=s.user,
            password=s.password or None,
            connect_timeout=3,
            autocommit=False,
        )
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(
            f"PostgreSQL at {s.where} (database {s.database!r}) is unreachable: {str(exc).strip()}. "
            "Start it, or point FEATURELOCK_PG_HOST/FEATURELOCK_PG_PORT at a running server."
        ) from exc


def check_applied(settings: PgSettings | None = None) -> None:
    """Refuse, in one line, a production profile whose schema was never created (never applied):
    Feast's SQL registry would otherwise fail deep inside psycopg."""
    s = settings or pg_settings()
    with connect(s) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (s.schema,)
        ).fetchone()
    if found is None:
        raise NotFoundError(
            f"The production profile was never applied here: PostgreSQL at {s.where} (database "
            f"{s.database!r}) has no schema {s.schema!r}. Run `featurelock apply --profile production` "
            "first (or point FEATURELOCK_PG_SCHEMA at the schema you applied)."
        )


def ensure_schema(settings: PgSettings | None = None) -> None:
    s = settings or pg_settings()
    with connect(s) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{s.schema}"')


_PG_TYPES = {
    "object": "text",
    "float64": "double precision",
    "Int64": "bigint",
    "int64": "bigint",
    "boolean": "boolean",
    "bool": "boolean",
}


def _pg_type(series: pd.Series) -> str:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    return _PG_TYPES[str(series.dtype)]


def _csv(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        elif str(out[c].dtype) == "float64":
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else repr(float(v)))
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, header=False, na_rep="")
    return buffer.getvalue()


def _load(conn: Any, s: PgSettings, frame: pd.DataFrame, table: str, index: list[str] | None) -> None:
    """Load ``frame`` as ``<table>__new``, then swap it in (inside the caller's transaction)."""
    columns = ", ".join(f'"{c}" {_pg_type(frame[c])}' for c in frame.columns)
    new, full = f'"{s.schema}"."{table}__new"', f'"{s.schema}"."{table}"'
    conn.execute(f"DROP TABLE IF EXISTS {new}")
    conn.execute(f"CREATE TABLE {new} ({columns})")
    with conn.cursor().copy(f"COPY {new} FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(_csv(frame))
    if index:
        cols = ", ".join(f'"{c}"' for c in index)
        conn.execute(f'CREATE INDEX "{table}__new_idx" ON {new} ({cols})')
    conn.execute(f"DROP TABLE IF EXISTS {full}")
    conn.execute(f'ALTER TABLE {new} RENAME TO "{table}"')
    if index:
        conn.execute(f'ALTER INDEX "{s.schema}"."{table}__new_idx" RENAME TO "{table}_idx"')


def replace_tables(
    tables: dict[str, tuple[pd.DataFrame, list[str] | None]], settings: PgSettings | None = None
) -> dict[str, int]:
    """Load every ``name -> (frame, index columns)`` and swap them all in one transaction:
    readers see all the new tables or all the old ones. Returns the row count of each."""
    s = settings or pg_settings()
    with connect(s) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{s.schema}"')
        for name in sorted(tables):
            frame, index = tables[name]
            _load(conn, s, frame, name, index)
    return {name: len(tables[name][0]) for name in sorted(tables)}


def replace_table(
    frame: pd.DataFrame, table: str, index: list[str] | None = None, settings: PgSettings | None = None
) -> int:
    """Load ``frame`` as ``<schema>.<table>``, swapping it in atomically. Returns the row count."""
    return replace_tables({table: (frame, index)}, settings)[table]
