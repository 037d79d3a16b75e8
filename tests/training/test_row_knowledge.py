"""Knowledge per row (Feast's ``filter_by_created_timestamp``): each entity row sees only feature
rows created at or before its own timestamp, and none after as_of. Every store against one
brute-force oracle, on rows built to sit on the edges: prediction times equal to a knowledge time,
a row known exactly at the prediction time, a correction known after it, rows before any knowledge."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String

from featurelock.stores.duckdb_offline import FeaturelockDuckDBOfflineStore
from featurelock.stores.retrieval import AS_OF_COLUMN, knowledge_slices
from tests.conftest import ts
from tests.training.test_offline_store_oracle import text

KA, KB, KC = ts("2013-05-01T09:00Z"), ts("2013-05-01T11:30Z"), ts("2013-05-01T12:00Z")
ROWS = [  # origin, dest, event_timestamp, created_timestamp, x, y
    ("A", "B", "2013-05-01T08:00Z", KA, 1, 1.5),
    ("A", "B", "2013-05-01T10:00Z", KB, 2, 2.5),  # happened at 10:00, known at 11:30
    ("A", "B", "2013-05-01T08:00Z", KC, 3, 3.5),  # a correction of 08:00, known at 12:00
    ("A", "B", "2013-05-01T11:00Z", KC, 4, None),  # an exact tie, known at 12:00 ...
    ("A", "B", "2013-05-01T11:00Z", KC, 5, 5.5),  # ... broken by the MD5 of the values
    ("C", "D", "2013-05-01T07:00Z", KA, 6, 6.5),
    ("C", "D", "2013-05-01T12:00Z", KC, 7, 7.5),  # known exactly when it happened
]
ENTITY_ROWS = [  # origin, dest, event_timestamp
    ("A", "B", "2013-05-01T08:30Z"),  # before every knowledge time: nothing known yet
    ("A", "B", "2013-05-01T09:00Z"),  # exactly KA: KA's rows are known
    ("A", "B", "2013-05-01T11:00Z"),  # 10:00 happened but is not known until 11:30
    ("A", "B", "2013-05-01T11:30Z"),  # exactly KB
    ("A", "B", "2013-05-01T11:59:59.999999Z"),  # one microsecond before KC
    ("A", "B", "2013-05-01T12:00Z"),  # exactly KC: the tie at 11:00 wins
    ("C", "D", "2013-05-01T11:00Z"),
    ("C", "D", "2013-05-01T12:00Z"),  # a row known exactly at the prediction time
    ("A", "B", "2013-05-01T09:00Z"),  # a duplicate entity row
    (None, "B", "2013-05-01T12:00Z"),  # a null key matches nothing
    ("A", "B", "2013-05-01T08:00:00.000001Z"),
]
TTL = timedelta(hours=4)


def frame_rows() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["origin", "dest", "event_timestamp", "created_timestamp", "x", "y"])
    frame["event_timestamp"] = frame["event_timestamp"].map(ts)
    frame["x"] = frame["x"].astype("Int64")
    return frame.iloc[::-1].reset_index(drop=True)  # file order must not matter


def entity_df(as_of: pd.Timestamp | None) -> pd.DataFrame:
    frame = pd.DataFrame(ENTITY_ROWS, columns=["origin", "dest", "event_timestamp"])
    frame["event_timestamp"] = frame["event_timestamp"].map(ts).astype("datetime64[ns, UTC]")
    if as_of is not None:
        frame[AS_OF_COLUMN] = pd.Series([as_of] * len(frame), dtype="datetime64[ns, UTC]")
    return frame


def oracle(as_of: pd.Timestamp | None, row_knowledge: bool) -> list[tuple]:
    """(x, y) of every entity row by brute force: newest visible row by (event, created, MD5)."""
    newest = max(r[3] for r in ROWS)
    out = []
    for origin, dest, when in ENTITY_ROWS:
        t = ts(when)
        limit = min(as_of or newest, t) if row_knowledge else (as_of or newest)
        candidates = []
        for o, d, event, created, x, y in ROWS:
            event = ts(event)
            if (o, d) != (origin, dest) or created > limit or event > t or event + TTL < t:
                continue
            digest = hashlib.md5(f"{text(x)}|{text(y)}".encode()).hexdigest()
            candidates.append(((event, created, digest), (x, y)))
        out.append(max(candidates)[1] if candidates else (None, None))
    return out


def cells(out: pd.DataFrame) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row) for row in out[["x", "y"]].itertuples(index=False)]


def feature_view(source) -> FeatureView:
    return FeatureView(
        name="route_view",
        entities=[Entity(name=k, join_keys=[k], value_type=ValueType.STRING) for k in ("origin", "dest")],
        ttl=TTL,
        schema=[
            Field(name="origin", dtype=String),
            Field(name="dest", dtype=String),
            Field(name="x", dtype=Int64),
            Field(name="y", dtype=Float64),
        ],
        source=source,
    )


@pytest.fixture
def parquet_view(tmp_path):
    frame_rows().to_parquet(tmp_path / "route.parquet", index=False)
    source = FileSource(
        name="route",
        path=str(tmp_path / "route.parquet"),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )
    return feature_view(source)


def run(store, config, view, frame, row_knowledge: bool):
    refs = ["route_view:x", "route_view:y"]
    return store.get_historical_features(
        config, [view], refs, frame, None, "test", filter_by_created_timestamp=row_knowledge
    )


def local_config() -> SimpleNamespace:
    return SimpleNamespace(
        repo_path="/nonexistent", offline_store=SimpleNamespace(threads=2, require_as_of=False)
    )


def test_the_oracle_by_hand():
    """The expectations themselves, computed by hand for knowledge per row without an as_of."""
    tie = max(
        (4, None), (5, 5.5), key=lambda r: hashlib.md5(f"{text(r[0])}|{text(r[1])}".encode()).hexdigest()
    )
    assert oracle(None, True) == [
        (None, None),  # 08:30: nothing known before 09:00
        (1, 1.5),  # 09:00 = KA
        (1, 1.5),  # 11:00: 10:00's row is not known yet
        (2, 2.5),  # 11:30 = KB
        (2, 2.5),
        tie,  # 12:00 = KC
        (6, 6.5),
        (7, 7.5),  # known exactly at its prediction time
        (1, 1.5),
        (None, None),
        (None, None),  # 08:00:00.000001, before KA
    ]
    assert oracle(None, False)[0] == (3, 3.5)  # a plain join sees the correction known at 12:00


@pytest.mark.parametrize("as_of", [None, KA, KB, KC], ids=["newest", "KA", "KB", "KC"])
@pytest.mark.parametrize("row_knowledge", [True, False], ids=["row", "as-of"])
def test_duckdb_store_equals_brute_force(parquet_view, as_of, row_knowledge):
    job = run(FeaturelockDuckDBOfflineStore, local_config(), parquet_view, entity_df(as_of), row_knowledge)
    out = job.to_df()
    assert len(out) == len(ENTITY_ROWS)
    assert cells(out) == oracle(as_of, row_knowledge)
    assert job.metadata.featurelock_knowledge == ("row" if row_knowledge else "as-of")


def test_row_knowledge_changes_what_a_plain_join_sees(parquet_view):
    """The skew this mode removes: 7 of 11 rows differ on this table (counted by hand: rows 1-5, 9, 11)."""
    row = cells(run(FeaturelockDuckDBOfflineStore, local_config(), parquet_view, entity_df(KC), True).to_df())
    plain = cells(
        run(FeaturelockDuckDBOfflineStore, local_config(), parquet_view, entity_df(KC), False).to_df()
    )
    assert sum(a != b for a, b in zip(row, plain, strict=True)) == 7


def test_slices_by_hand():
    stamps = pd.Series([ts(t) for _, _, t in ENTITY_ROWS])
    slot, as_of = knowledge_slices(stamps, KB, [KA, KB, KC])
    assert as_of == [KA - pd.Timedelta(microseconds=1), KA, KB]
    assert slot.tolist() == [0, 1, 1, 2, 2, 2, 1, 2, 1, 2, 0]
    slot, as_of = knowledge_slices(stamps, ts("2013-05-01T08:00Z"), [KA, KB, KC])  # nothing known
    assert set(slot.tolist()) == {0} and as_of == [KA - pd.Timedelta(microseconds=1)]


# ---- the same rule on the PostgreSQL and Spark stores (real server, real Spark) ------------------
@pytest.fixture
def pg_view():
    from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import PostgreSQLSource

    from featurelock.stores.pg import PgSettings, connect, replace_table

    schema = f"fl_rowknow_{os.getpid()}"
    s = PgSettings(
        "127.0.0.1", int(os.environ.get("FEATURELOCK_PG_PORT", "5432")), "test", "postgres", "", schema
    )
    replace_table(frame_rows(), "route_view", settings=s)
    source = PostgreSQLSource(
        name="route_view",
        table=f"{schema}.route_view",
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )
    config = SimpleNamespace(
        offline_store=SimpleNamespace(
            host=s.host, port=s.port, database=s.database, user=s.user, password=s.password, db_schema=schema
        )
    )
    yield config, feature_view(source)
    with connect(s) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.slow
@pytest.mark.parametrize("as_of", [None, KB], ids=["newest", "KB"])
def test_postgres_store_equals_brute_force(pg_view, as_of):
    from featurelock.stores.pg_offline import FeaturelockPostgreSQLOfflineStore

    config, view = pg_view
    out = run(FeaturelockPostgreSQLOfflineStore, config, view, entity_df(as_of), True).to_df()
    assert cells(out) == oracle(as_of, True)


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.parametrize("as_of", [None, KB], ids=["newest", "KB"])
def test_spark_store_equals_brute_force(spark, parquet_view, as_of):
    from featurelock.stores.spark_offline import FeaturelockSparkOfflineStore

    out = run(FeaturelockSparkOfflineStore, local_config(), parquet_view, entity_df(as_of), True).to_df()
    assert cells(out) == oracle(as_of, True)


# ---- through featurelock: the service's mode, the manifest, verify and train follow it ----------
def test_a_service_trains_with_its_knowledge_mode_and_verify_follows_the_manifest(tmp_path):
    import json

    from featurelock.features.project import Project
    from featurelock.scaffold import init_project
    from featurelock.training.dataset import build_training_set, verify_training_set, write_training_set
    from tests.engine.test_data_home import prepare

    project = Project(init_project(tmp_path / "shop"), tmp_path / "home")  # its service: knowledge="row"
    prepare(project)
    row = build_training_set(project, "return_model_v1")
    plain = build_training_set(project, "return_model_v1", knowledge="as-of")
    assert row.manifest.knowledge == "row" and plain.manifest.knowledge == "as-of"
    assert row.sha256 != plain.sha256
    # a row of the first week's batch sees nothing; the plain join sees what the store knows now
    first = row.frame.sort_values("event_timestamp").iloc[0]
    assert pd.isna(first["visits_7d_v1"]) and not pd.isna(
        plain.frame.set_index("row_id").loc[first["row_id"], "visits_7d_v1"]
    )
    folder = write_training_set(project, row, tmp_path / "set")
    assert verify_training_set(project, folder).identical
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["knowledge"] = "as-of"  # the manifest decides the mode of the rebuild
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert verify_training_set(project, folder).actual_sha256 == plain.sha256
    with pytest.raises(Exception, match=r"knowledge='rows' is not a knowledge mode; expected one of"):
        build_training_set(project, "return_model_v1", knowledge="rows")
    # issue 21, item 6: a project with no requirements.lock records every installed distribution
    import hashlib
    from importlib import metadata

    environment = row.manifest.environment
    assert environment["requirements_lock_sha256"] == "missing"
    installed = environment["installed"]["distributions"]
    assert f"feast=={metadata.version('feast')}" in installed and installed == sorted(installed)
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in installed  # names as pip writes them
    listing = "".join(line + "\n" for line in installed).encode()
    assert environment["installed"]["sha256"] == "sha256:" + hashlib.sha256(listing).hexdigest()
    manifest["inputs"]["environment"]["installed"]["distributions"][0] = "left-pad==0.0.1"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert "environment" in [stage for stage, _ in verify_training_set(project, folder).diverged]
