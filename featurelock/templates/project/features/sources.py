"""Raw sources: one table of visits, read from the CSV shipped in raw/ (replace it with your data)."""

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
    knowledge_time="2024-04-01T00:00:00Z",  # the batch was known the day after its last visit
)
