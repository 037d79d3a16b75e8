"""The delay model's population: its entity rows, prediction timestamps and labels, declared once.

Rule set (recorded in every manifest, checked by serving):
- one row per scheduled flight from an NYC origin (EWR, JFK, LGA) scheduled in 2013 local time;
- prediction timestamp = scheduled departure - 2 hours (UTC);
- label = 1 when the flight left 15 or more minutes late (``dep_delay >= 15``), else 0;
- cancelled flights (no departure) are **excluded**: the model predicts the delay of a flight
  that operates; cancellation is a different outcome with its own causes.
The population is read from the raw flights as known at ``as_of`` (newest version of each row).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from features.build import latest_as_known
from features.fingerprint import normalize_sql
from features.hashing import frame_sha256
from features.raw.schema import SCHEMAS
from features.raw.store import RawStore

ID = "flight_id"
TS = "event_timestamp"
LABEL = "label"
ENTITY_KEYS = ("origin", "dest", "carrier", "tailnum")
REQUEST_FIELDS = ("sched_dep_time", "distance")


@dataclass(frozen=True)
class PopulationSpec:
    name: str
    origins: tuple[str, ...]
    sched_from_local: str  # inclusive, America/New_York wall date
    sched_to_local: str  # exclusive
    prediction_offset_hours: int
    delay_threshold_minutes: int
    cancelled: str  # "excluded"

    def sql(self) -> str:
        origins = ", ".join(f"'{o}'" for o in self.origins)
        lo = pd.Timestamp(self.sched_from_local, tz="America/New_York").tz_convert("UTC").tz_localize(None)
        hi = pd.Timestamp(self.sched_to_local, tz="America/New_York").tz_convert("UTC").tz_localize(None)
        return f"""
            SELECT flight_id,
                   event_timestamp - INTERVAL {self.prediction_offset_hours} HOUR AS event_timestamp,
                   origin, dest, carrier, tailnum,
                   event_timestamp AS sched_dep_time, distance,
                   CASE WHEN dep_delay >= {self.delay_threshold_minutes} THEN 1 ELSE 0 END AS label
            FROM flights
            WHERE NOT cancelled
              AND origin IN ({origins})
              AND event_timestamp >= TIMESTAMP '{lo}' AND event_timestamp < TIMESTAMP '{hi}'
        """

    def definition(self) -> dict[str, object]:
        return {
            "name": self.name,
            "origins": list(self.origins),
            "sched_dep_local_from": self.sched_from_local,
            "sched_dep_local_to": self.sched_to_local,
            "prediction_time": f"scheduled departure - {self.prediction_offset_hours} h",
            "label": f"dep_delay >= {self.delay_threshold_minutes} minutes",
            "cancelled": self.cancelled,
            "sql": normalize_sql(self.sql()),
        }

    def definition_hash(self) -> str:
        blob = json.dumps(self.definition(), sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()


DELAY_POPULATION = PopulationSpec(
    name="nyc_departures_2013",
    origins=("EWR", "JFK", "LGA"),
    sched_from_local="2013-01-01",
    sched_to_local="2014-01-01",
    prediction_offset_hours=2,
    delay_threshold_minutes=15,
    cancelled="excluded",
)


def build_population(
    as_of: pd.Timestamp, store: RawStore | None = None, spec: PopulationSpec = DELAY_POPULATION
) -> pd.DataFrame:
    """Entity rows sorted by flight_id: id, prediction timestamp, keys, request fields, label."""
    store = store or RawStore()
    flights = latest_as_known(store.read("flights", as_of), SCHEMAS["flights"].key)
    flights = flights[
        [
            "flight_id",
            "event_timestamp",
            "origin",
            "dest",
            "carrier",
            "tailnum",
            "distance",
            "dep_delay",
            "cancelled",
        ]
    ].copy()
    for column in ("event_timestamp",):
        flights[column] = flights[column].dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("us")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.register("flights", flights)
    frame = con.execute(f"SELECT * FROM ({spec.sql()}) ORDER BY flight_id").df()
    con.close()
    for column in (TS, "sched_dep_time"):
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC").dt.as_unit("ns")
    frame["distance"] = frame["distance"].astype("Int64")
    frame[LABEL] = frame[LABEL].astype("int64")
    for key in (ID, *ENTITY_KEYS):
        frame[key] = frame[key].astype(object).where(frame[key].notna(), None)
    return frame.reset_index(drop=True)


def population_hash(frame: pd.DataFrame) -> str:
    return "sha256:" + frame_sha256(frame)
