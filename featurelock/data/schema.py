"""Raw sources as a project declares them: columns, own key, loader, declared knowledge time.

Every raw row carries ``event_timestamp`` (UTC, when the fact happened) and
``created_timestamp`` (UTC, when the system learned it; declared by the batch).
Kinds: ``string``, ``int`` (nullable Int64), ``float`` (float64), ``bool``, ``timestamp`` (UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd

EVENT_TS = "event_timestamp"
CREATED_TS = "created_timestamp"
KINDS = ("string", "int", "float", "bool", "timestamp")

PANDAS_DTYPES = {
    "string": "object",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "datetime64[ns, UTC]",
}


@dataclass(frozen=True)
class Source:
    """A raw table: its own key, whether it is static, and its value columns (name -> kind).

    ``load`` returns the project's initial batch (columns: key, ``event_timestamp``, the value
    columns); ``knowledge_time`` is the time that batch declares it was known at (timezone-aware).
    Or, with ``every`` and ``latency``, the load is what arrived batch by batch: each period's
    events, known ``latency`` after the period (a store that lives in time from the first ingest).
    A static table (no event time of its own) gives every row its documented effective date.

    Parameters
    ----------
    name : str
        The table's name, as feature and population SQL read it.
    key : str
        The column that identifies a row (with ``event_timestamp``).
    columns : tuple of (str, str)
        Value columns and their kinds (``string``, ``float``, ``int``, ``timestamp``, ``bool``).
    static : bool
        A table without event times of its own (default False).
    description : str
        What a row is.
    load : callable, optional
        Returns the initial batch as a DataFrame (key, ``event_timestamp``, the value columns).
    knowledge_time : str, optional
        When the initial batch was known (ISO 8601 with offset).
    every, latency : timedelta, optional
        The load arrived in batches of ``every``, each known ``latency`` after its period.
    """

    name: str
    key: str
    columns: tuple[tuple[str, str], ...]
    static: bool = False
    description: str = ""
    load: Callable[[], pd.DataFrame] | None = field(default=None, compare=False, repr=False)
    knowledge_time: str | None = None
    #: The load arrived as batches: the events of each period of ``every``, known ``latency`` after
    #: the period ends (``data.batches``); then ``knowledge_time`` is not used.
    every: timedelta | None = None
    latency: timedelta | None = None

    @property
    def all_columns(self) -> tuple[tuple[str, str], ...]:
        """Columns of a batch as ingested (before the store adds ``created_timestamp``)."""
        return ((self.key, "string"), (EVENT_TS, "timestamp"), *self.columns)

    @property
    def stored_columns(self) -> tuple[tuple[str, str], ...]:
        return (*self.all_columns[:2], (CREATED_TS, "timestamp"), *self.columns)


#: The name the schema had before sources carried their loader; kept for readers of old code.
TableSchema = Source
