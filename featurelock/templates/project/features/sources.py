"""Raw sources: one table of visits, read from the CSV shipped in raw/ (replace it with your data)."""

from datetime import timedelta
from pathlib import Path

import pandas as pd

from featurelock import Source

CSV = Path(__file__).resolve().parents[1] / "raw" / "visits.csv"


def load_visits() -> pd.DataFrame:
    """The initial batch: one row per visit, keyed by visit_id, at its UTC time."""
    frame = pd.read_csv(CSV, dtype={"visit_id": str, "customer": str})
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    return frame[["visit_id", "event_timestamp", "customer", "amount"]]


VISITS = Source(
    name="visits",
    key="visit_id",
    columns=(("customer", "string"), ("amount", "float")),
    description="Visits of customers to the shop.",
    load=load_visits,
    # the visits arrived every week, each week known the day after it ended (13 batches)
    every=timedelta(days=7),
    latency=timedelta(days=1),
)
