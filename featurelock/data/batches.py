"""A project's sources cut into the batches production would have received.

``timeline(sources, every, latency)``: the events of each period of length ``every`` form one
batch, known ``latency`` after the period ends; the first batch also holds every event before the
first period and the static tables. The sources' own event times define the batches: a project
needs no code of its own to be replayed as a timeline (``featurelock simulate``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from featurelock.core.errors import ValidationError
from featurelock.core.times import aware_timestamp
from featurelock.data.schema import EVENT_TS, Source

_DURATION = re.compile(r"^\s*(\d+)\s*(d|h|m)\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_duration(text: object, what: str) -> pd.Timedelta:
    """``7d``, ``12h`` or ``30m`` as a positive duration."""
    match = _DURATION.match(str(text)) if isinstance(text, str) else None
    if match is None or int(match[1]) == 0:
        raise ValidationError(
            f"{what}={text!r} is not a duration; give a positive whole number of days, hours or minutes, "
            "e.g. 7d, 12h or 30m."
        )
    return pd.Timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True)
class Batch:
    """One step of a timeline: the rows of each table, known at ``known``; events up to ``until``."""

    known: pd.Timestamp
    until: pd.Timestamp  # the end of the period (exclusive)
    frames: dict[str, pd.DataFrame]

    @property
    def rows(self) -> int:
        return sum(len(f) for f in self.frames.values())


def timeline(
    sources: Mapping[str, Source],
    every: pd.Timedelta,
    latency: pd.Timedelta,
    start: object | None = None,
    steps: int | None = None,
) -> list[Batch]:
    """The batches, in knowledge-time order; periods without an event are skipped.

    ``start`` (default: midnight UTC of the first event) begins the first period; events before it
    join the first batch. ``steps`` keeps the first ``steps`` batches.
    """
    if steps is not None and steps < 1:
        raise ValidationError(f"steps={steps!r} must be at least 1 (the number of batches to replay).")
    frames = {}
    for name in sorted(sources):
        source = sources[name]
        if source.load is None:
            raise ValidationError(
                f"source {name!r} declares no loader, so its events cannot be replayed; give it "
                "load=<a function returning the table>."
            )
        frames[name] = source.load()
    timed = [n for n in frames if not sources[n].static and len(frames[n])]
    if not timed:
        raise ValidationError(
            "No source has events with a time of their own; there is no timeline to replay."
        )
    first_event = min(frames[n][EVENT_TS].min() for n in timed)
    begin = first_event.floor("D") if start is None else aware_timestamp(start, "--from")
    last_event = max(frames[n][EVENT_TS].max() for n in timed)
    count = int((last_event - begin) // every) + 1
    periods = [(begin + i * every, begin + (i + 1) * every) for i in range(max(count, 1))]
    batches: list[Batch] = []
    for i, (lo, hi) in enumerate(periods):
        out = {}
        for name in sorted(frames):
            frame = frames[name]
            if sources[name].static:
                picked = frame if i == 0 else frame.iloc[0:0]
            else:
                when = frame[EVENT_TS]
                picked = frame[(when < hi) & ((when >= lo) | (i == 0))]
            if len(picked):
                out[name] = picked.reset_index(drop=True)
        if out:
            batches.append(Batch(hi + latency, hi, out))
        if steps is not None and len(batches) == steps:
            break
    return batches
