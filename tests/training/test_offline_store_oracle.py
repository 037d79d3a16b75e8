"""Our Feast offline store against an independent brute-force point-in-time join, cell for cell."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String

from featurelock.core.errors import ValidationError
from featurelock.stores.duckdb_offline import FeaturelockDuckDBOfflineStore
from featurelock.stores.retrieval import AS_OF_COLUMN
from tests.conftest import ts

K1, K2 = ts("2014-01-02T00:00Z"), ts("2014-02-01T00:00Z")

ROUTE_ROWS = [  # origin, dest, event_timestamp, created_timestamp, x, y
    ("AB", "C", "2013-05-01T10:00Z", K1, 1, 1.5),
    ("A", "BC", "2013-05-01T10:00Z", K1, 2, 2.5),  # keys concatenate like ("AB", "C")
    ("AB", "C", "2013-05-01T11:00Z", K1, 3, None),  # null value
    ("AB", "C", "2013-05-01T11:00Z", K2, 4, 4.5),  # late correction, known at K2
    ("AB", "C", "2013-05-01T12:00Z", K1, 5, 5.5),  # exact tie (same event and created time) ...
    ("AB", "C", "2013-05-01T12:00Z", K1, 6, 6.5),  # ... broken by the MD5 of the values
    ("A", "BC", "2013-05-01T09:00Z", K1, 7, 7.5),
]
CARRIER_ROWS = [  # carrier, event_timestamp, created_timestamp, z
    ("UA", "2013-05-01T08:00Z", K1, 1.0),
    ("UA", "2013-05-01T13:00:01Z", K1, 2.0),
]
ENTITY_ROWS = [  # origin, dest, carrier, event_timestamp
    ("AB", "C", "UA", "2013-05-01T11:30Z"),
    ("A", "BC", "UA", "2013-05-01T12:00Z"),  # route row 10:00 is exactly ttl (2 h) old: kept
    ("A", "BC", "UA", "2013-05-01T12:00:01Z"),  # 1 s past ttl: expired
    ("AB", "C", "UA", "2013-05-01T11:30Z"),  # duplicate entity row
    ("AB", "C", "UA", "2013-05-01T13:00Z"),  # carrier row at 13:00:01 is 1 s in the future
    (None, "C", None, "2013-05-01T12:00Z"),  # null keys match nothing
    ("AB", "C", "UA", "2013-05-01T13:00:01Z"),
    ("ZZ", "Z", "AA", "2013-05-01T12:00Z"),  # unknown keys
]
ROUTE_TTL, CARRIER_TTL = timedelta(hours=2), timedelta(0)


@pytest.fixture
def views(tmp_path):
    route = pd.DataFrame(
        ROUTE_ROWS, columns=["origin", "dest", "event_timestamp", "created_timestamp", "x", "y"]
    )
    route["event_timestamp"] = route["event_timestamp"].map(ts)
    route["x"] = route["x"].astype("Int64")
    route = route.iloc[::-1]  # file order must not matter
    carrier = pd.DataFrame(CARRIER_ROWS, columns=["carrier", "event_timestamp", "created_timestamp", "z"])
    carrier["event_timestamp"] = carrier["event_timestamp"].map(ts)
    route.to_parquet(tmp_path / "route.parquet", index=False)
    carrier.to_parquet(tmp_path / "carrier.parquet", index=False)
    ents = {
        k: Entity(name=k, join_keys=[k], value_type=ValueType.STRING) for k in ("origin", "dest", "carrier")
    }

    def source(name):
        return FileSource(
            name=name,
            path=str(tmp_path / f"{name}.parquet"),
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        )

    route_fv = FeatureView(
        name="route_view",
        entities=[ents["origin"], ents["dest"]],
        ttl=ROUTE_TTL,
        schema=[
            Field(name="origin", dtype=String),
            Field(name="dest", dtype=String),
            Field(name="x", dtype=Int64),
            Field(name="y", dtype=Float64),
        ],
        source=source("route"),
    )
    carrier_fv = FeatureView(
        name="carrier_view",
        entities=[ents["carrier"]],
        ttl=CARRIER_TTL,
        schema=[Field(name="carrier", dtype=String), Field(name="z", dtype=Float64)],
        source=source("carrier"),
    )
    return [route_fv, carrier_fv]


def entity_df(as_of: pd.Timestamp | None) -> pd.DataFrame:
    frame = pd.DataFrame(ENTITY_ROWS, columns=["origin", "dest", "carrier", "event_timestamp"])
    frame["event_timestamp"] = frame["event_timestamp"].map(ts).astype("datetime64[ns, UTC]")
    if as_of is not None:
        frame[AS_OF_COLUMN] = pd.Series([as_of] * len(frame), dtype="datetime64[ns, UTC]")
    return frame


def text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "NULL"
    return repr(value) if isinstance(value, float) else str(value)


def brute_force(rows, key_count, entity_keys, entity_ts, ttl, as_of) -> tuple | None:
    """Newest row with ts <= entity ts (within ttl), known at as_of; ties: created, then MD5 of values."""
    if any(k is None for k in entity_keys):
        return None
    candidates = []
    for row in rows:
        keys, event, created, values = (
            row[:key_count],
            ts(row[key_count]),
            row[key_count + 1],
            row[key_count + 2 :],
        )
        if keys != tuple(entity_keys) or created > as_of or event > entity_ts:
            continue
        if ttl > timedelta(0) and event + ttl < entity_ts:
            continue
        digest = hashlib.md5("|".join(text(v) for v in values).encode()).hexdigest()
        candidates.append(((event, created, digest), values))
    return max(candidates)[1] if candidates else None


def oracle_cells(as_of: pd.Timestamp) -> list[tuple]:
    """(x, y, z) of every entity row, by brute force."""
    expected = []
    for origin, dest, carrier, when in ENTITY_ROWS:
        route = brute_force(ROUTE_ROWS, 2, (origin, dest), ts(when), ROUTE_TTL, as_of) or (None, None)
        carr = brute_force(CARRIER_ROWS, 1, (carrier,), ts(when), CARRIER_TTL, as_of) or (None,)
        expected.append((*route, *carr))
    return expected


def cells(out: pd.DataFrame) -> list[tuple]:
    """A store's (x, y, z) per row, nulls as None."""
    return [
        tuple(None if pd.isna(v) else v for v in row) for row in out[["x", "y", "z"]].itertuples(index=False)
    ]


def run_job(views, frame, require_as_of: bool = False):
    offline = SimpleNamespace(threads=2, require_as_of=require_as_of)
    config = SimpleNamespace(repo_path="/nonexistent", offline_store=offline)
    refs = ["route_view:x", "route_view:y", "carrier_view:z"]
    return FeaturelockDuckDBOfflineStore.get_historical_features(config, views, refs, frame, None, "test")


def run_store(views, frame, require_as_of: bool = False) -> pd.DataFrame:
    return run_job(views, frame, require_as_of).to_df()


@pytest.mark.parametrize("as_of", [K1, K2], ids=["as-of-K1", "as-of-K2"])
def test_store_equals_brute_force_cell_for_cell(views, as_of):
    out = run_store(views, entity_df(as_of))
    assert len(out) == len(ENTITY_ROWS)
    assert cells(out) == oracle_cells(as_of)


def test_hand_computed_expectations(views):
    """The oracle itself, pinned by hand for as_of = K1."""
    out = run_store(views, entity_df(K1))
    x = [None if pd.isna(v) else int(v) for v in out["x"]]
    z = [None if pd.isna(v) else v for v in out["z"]]
    tie = max((5, 5.5), (6, 6.5), key=lambda r: hashlib.md5(f"{r[0]}|{r[1]!r}".encode()).hexdigest())[0]
    assert x == [3, 2, None, 3, tie, None, tie, None]
    assert z == [1.0, 1.0, 1.0, 1.0, 1.0, None, 2.0, None]
    assert out["y"].isna().tolist()[:2] == [True, False]  # the null value at 11:00 is a real null


def test_late_correction_visible_only_from_its_knowledge_time(views):
    assert run_store(views, entity_df(K1))["x"].iloc[0] == 3
    assert run_store(views, entity_df(K2))["x"].iloc[0] == 4


def test_issue13_item8_without_as_of_everything_known_is_read_and_the_as_of_recorded(views):
    """Before: a plain Feast frame (no featurelock_as_of) was refused. Now it reads every row known,
    as of the newest knowledge time of the views read, which the job's metadata records."""
    job = run_job(views, entity_df(None))
    assert job.metadata.featurelock_as_of == K2
    assert job.metadata.featurelock_as_of_source == "newest knowledge time of the views read"
    expected = run_store(views, entity_df(K2))
    pd.testing.assert_frame_equal(job.to_df(), expected.drop(columns=[AS_OF_COLUMN]))


def test_a_strict_store_refuses_a_missing_as_of(views):
    with pytest.raises(
        ValidationError, match=r"no 'featurelock_as_of' column, and this store is set to require_as_of"
    ):
        run_store(views, entity_df(None), require_as_of=True)


def test_issue13_item8_naive_entity_timestamps_are_utc(views):
    """Before: naive entity timestamps were refused; Feast reads them as UTC, and so do we."""
    frame = entity_df(K1)
    frame["event_timestamp"] = frame["event_timestamp"].dt.tz_localize(None)
    frame[AS_OF_COLUMN] = frame[AS_OF_COLUMN].dt.tz_localize(None)
    pd.testing.assert_frame_equal(run_store(views, frame), run_store(views, entity_df(K1)))


def test_missing_join_key_column_is_refused(views):
    with pytest.raises(
        ValidationError,
        match=r"lacks join key column\(s\) \['carrier'\] needed by feature view 'carrier_view'",
    ):
        run_store(views, entity_df(K1).drop(columns=["carrier"]))


def test_two_as_of_values_are_refused(views):
    frame = entity_df(K1)
    frame.loc[0, AS_OF_COLUMN] = K2
    with pytest.raises(ValidationError, match=r"holds 2 distinct value\(s\).*exactly one as_of"):
        run_store(views, frame)
