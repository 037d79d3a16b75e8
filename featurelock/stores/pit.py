"""The point-in-time rule, in one place, for every offline and online store.

For an entity row (or request) at time ``at``, read with knowledge time ``as_of``:

- feature rows with ``created_timestamp > as_of`` are invisible (offline; the online store holds
  what was materialized, which is as known when it was written);
- among the rows of a key, the newest by the **total order** wins: ``event_timestamp`` desc, then
  ``created_timestamp`` desc, then the MD5 of the row's feature values rendered as text and joined
  with ``|`` (null as ``NULL``) desc, so a tie is never arbitrary;
- the winner must satisfy ``event <= at <= event + ttl`` (ttl 0: no expiry), else the features are
  missing; a null key matches nothing;
- stores work in microseconds: a feature row's event time finer than that is taken **up** to the
  next microsecond (``EVENT_CEIL_SQL``), so a fact is never visible before it happened; the text of
  a value in the tie-break is DuckDB's (``nan``, ``inf``, ``-0.0``), on every engine.

``at`` and ``as_of`` are always arguments: no store reads the clock below Feast's own API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from featurelock.core.errors import ValidationError
from featurelock.core.times import aware_timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ViewRequest:
    """What to read from one feature view."""

    name: str
    path: str  # where the view's table is read from (a Parquet file, or a SQL table)
    join_key_map: dict[str, str]  # feature-table key -> entity_df column
    features: tuple[str, ...]  # feature columns to read
    output_names: tuple[str, ...]  # names in the output (same length as features)
    ttl: timedelta
    timestamp_field: str = "event_timestamp"
    created_timestamp_column: str | None = "created_timestamp"
    string_features: tuple[str, ...] = ()  # features of string dtype (the rest are numeric)
    source_columns: dict[str, str] = field(default_factory=dict)  # key/feature -> source column, if renamed

    def column(self, name: str) -> str:
        """The source's column for a join key or feature (its ``field_mapping`` reversed)."""
        return self.source_columns.get(name, name)


def check_at(at: object, what: str = "at") -> datetime:
    """A read's time: timezone-aware, returned in UTC. There is no default."""
    if type(at) is datetime and at.tzinfo is UTC:  # already checked (the serving path passes these)
        return at
    if at is None:
        raise ValidationError(
            f"{what} is None: a point-in-time read needs the time it is made at (the prediction time); "
            "pass a timezone-aware datetime."
        )
    return aware_timestamp(at, what).to_pydatetime()


def to_micros(ts: datetime | None) -> int | None:
    """Integer microseconds since the epoch (UTC); Feast hands naive UTC in places."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    delta = ts.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=int(value))


def ttl_micros(ttl: timedelta | None) -> int:
    """A ttl in microseconds; 0 means no expiry."""
    return int(ttl / timedelta(microseconds=1)) if ttl and ttl > timedelta(0) else 0


def alive_at(ttl: timedelta | None, at: datetime) -> Callable[[int], bool]:
    """The rule online, for one read at ``at``: event micros -> ``event <= at <= event + ttl``
    (ttl 0 or None: no expiry). Built once per read, applied per value."""
    at_micros = to_micros(at)
    assert at_micros is not None
    window = ttl_micros(ttl)
    if window:
        return lambda event: event <= at_micros and event + window >= at_micros
    return lambda event: event <= at_micros


def alive(event_micros: int, ttl: timedelta | None, at: datetime) -> bool:
    """The rule online for one value (see ``alive_at``)."""
    return alive_at(ttl, at)(event_micros)


#: A feature row's event time in whole microseconds, rounded up (DuckDB; ``{}`` is the column).
EVENT_CEIL_SQL = "make_timestamp((epoch_ns(CAST({} AS TIMESTAMP_NS)) + 999) // 1000)::TIMESTAMPTZ"


def tie_break_sql(feature_columns: list[str], cast: str) -> str:
    """The last key of the total order, as SQL: MD5 of the values as text joined with ``|``.

    ``cast`` renders one column as text: ``CAST({} AS VARCHAR)`` in DuckDB, ``{}::text`` in PostgreSQL.
    """
    values = ", ".join(f"coalesce({cast.format(c)}, 'NULL')" for c in feature_columns)
    return f"md5(concat_ws('|', {values}))"
