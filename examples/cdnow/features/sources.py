"""CDNOW's raw source: the purchase log (69,659 purchases by 23,570 customers, 1997-01 to 1998-06).

Read from ``CDNOW_master.txt`` as shipped in the ``lifetimes`` wheel (``lifetimes/datasets/``); the
package is located, never imported. Each line: customer id, date (YYYYMMDD), number of CDs, dollar
value. Only the date of a purchase is known: its event time is that day's midnight UTC, so a
snapshot at a midnight never sees that day's purchases (windows are half-open) while a label
window starting there does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from featurelock import Source

#: The log was complete after its last day (1998-06-30): the initial load is known from 1998-07-01.
KNOWLEDGE_TIME = "1998-07-01T00:00:00Z"


def master_file() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("The lifetimes package (which ships CDNOW_master.txt) is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"


def purchases_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw lines -> the purchases batch. A customer may buy several times a day: the purchase id is
    customer, date and the line's rank among that customer's lines of that day (file order)."""
    customer = raw["customer_id"].astype(str).str.zfill(5)
    day = raw["date"].astype(str)
    rank = raw.groupby([customer, day], sort=False).cumcount() + 1
    return pd.DataFrame(
        {
            "purchase_id": customer + "-" + day + "-" + rank.map("{:02d}".format),
            "event_timestamp": pd.to_datetime(day, format="%Y%m%d").dt.tz_localize("UTC").dt.as_unit("ns"),
            "customer": customer,
            "cds": raw["number_of_cds"].astype("Int64"),
            "dollars": raw["dollar_value"].astype("float64"),
        }
    )


def load_purchases() -> pd.DataFrame:
    raw = pd.read_csv(
        master_file(),
        sep=r"\s+",
        header=None,
        skiprows=1,  # the file starts with a header line (and has CRLF line ends)
        names=["customer_id", "date", "number_of_cds", "dollar_value"],
        dtype={"customer_id": str, "date": str},
    )
    return purchases_frame(raw)


PURCHASES = Source(
    name="purchases",
    key="purchase_id",
    columns=(("customer", "string"), ("cds", "int"), ("dollars", "float")),
    description="CDNOW purchases, one line per purchase (customer, day, CDs, dollars).",
    load=load_purchases,
    knowledge_time=KNOWLEDGE_TIME,
)
