"""The append-only raw store: validation before any write, idempotence, corrections, kill-safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from featurelock.core.errors import NotFoundError, SchemaError, ValidationError
from featurelock.data.store import RawStore
from tests.conftest import REPO_ROOT, nyc, ts, utc_series

SOURCES = nyc().sources

K1 = "2014-01-02T00:00:00Z"
K2 = "2014-02-01T00:00:00Z"


def airlines(names=("Endeavor Air Inc.", "American Airlines Inc.")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "carrier": ["9E", "AA"][: len(names)],
            "event_timestamp": utc_series(["2013-01-01T00:00Z"] * len(names)),
            "name": list(names),
        }
    )


def weather(temps=(39.02, 39.92)) -> pd.DataFrame:
    n = len(temps)
    frame = pd.DataFrame(
        {
            "origin": ["EWR"] * n,
            "event_timestamp": utc_series(["2013-01-01T06:00Z", "2013-01-01T07:00Z"][:n]),
            "year": [2013] * n,
            "month": [1] * n,
            "day": [1] * n,
            "hour": [1, 2][:n],
            "temp": list(temps),
            "dewp": [26.06] * n,
            "humid": [59.37] * n,
            "wind_dir": [270.0] * n,
            "wind_speed": [10.35702] * n,
            "wind_gust": [None] * n,
            "precip": [0.0] * n,
            "pressure": [1012.0] * n,
            "visib": [10.0] * n,
        }
    )
    frame["wind_gust"] = frame["wind_gust"].astype("float64")
    return frame


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_ingest_then_read_adds_created_timestamp_and_sorts(tmp_path):
    store = RawStore(tmp_path, SOURCES)
    result = store.ingest("airlines", airlines().iloc[::-1], K1)
    assert result.status == "written" and result.rows == 2
    out = store.read("airlines")
    assert out.columns.tolist() == ["carrier", "event_timestamp", "created_timestamp", "name"]
    assert out["carrier"].tolist() == ["9E", "AA"]
    assert out["created_timestamp"].tolist() == [ts(K1), ts(K1)]


def test_identical_reingest_is_a_noop(tmp_path):
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather(), K1)
    before = files(tmp_path)
    again = store.ingest("weather", weather().sample(frac=1, random_state=3), K1)
    assert again.status == "unchanged"
    assert files(tmp_path) == before


def test_correction_appends_and_as_of_hides_it(tmp_path):
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather((39.02, 39.92)), K1)
    fp_k1 = store.fingerprint("weather", as_of=ts(K1))
    corrected = weather((39.02, 41.0)).iloc[[1]]
    store.ingest("weather", corrected, K2)
    everything = store.read("weather")
    assert len(everything) == 3
    assert everything["temp"].tolist() == [39.02, 39.92, 41.0]
    assert everything["created_timestamp"].tolist() == [ts(K1), ts(K1), ts(K2)]
    assert store.fingerprint("weather", as_of=ts(K1)) == fp_k1
    assert store.fingerprint("weather") != fp_k1
    assert store.knowledge_times() == [ts(K1), ts(K2)]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["temp"]), r"missing columns \['temp'\]"),
        (lambda f: f.assign(extra=1), r"unexpected columns \['extra'\]"),
        (
            lambda f: f.assign(event_timestamp=f["event_timestamp"].dt.tz_localize(None)),
            r"'event_timestamp' of table 'weather' holds naive timestamps.*tz_localize",
        ),
        (
            lambda f: f.assign(origin=[None, "EWR"]),
            r"'origin' of table 'weather' is the table's key but has 1 null",
        ),
        (
            lambda f: f.assign(temp=["cold", "warm"]),
            r"'temp' of table 'weather' has dtype object; expected floating",
        ),
        (
            lambda f: f.assign(hour=[1.5, 2.0]),
            r"'hour' of table 'weather' has dtype float64; expected integers",
        ),
        (
            lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True),
            r"2 rows sharing \(key, event_timestamp\).*Deduplicate",
        ),
        (
            lambda f: f.assign(created_timestamp=f["event_timestamp"]),
            r"knowledge time is declared by the batch",
        ),
    ],
    ids=[
        "missing",
        "extra",
        "naive",
        "null-key",
        "dtype-str",
        "dtype-float-int",
        "duplicates",
        "created-col",
    ],
)
def test_bad_batches_are_rejected_and_nothing_is_written(tmp_path, mutate, message):
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather(), K1)
    before = files(tmp_path)
    with pytest.raises(SchemaError, match=message):
        store.ingest("weather", mutate(weather()), K2)
    assert files(tmp_path) == before


def test_naive_knowledge_time_and_unknown_table_are_rejected(tmp_path):
    store = RawStore(tmp_path, SOURCES)
    with pytest.raises(ValidationError, match=r"knowledge_time='2014-01-02' is naive.*UTC offset"):
        store.ingest("weather", weather(), "2014-01-02")
    with pytest.raises(NotFoundError, match=r"table='wether' is not a raw table"):
        store.ingest("wether", weather(), K1)
    assert files(tmp_path) == []


def test_same_knowledge_time_overlap_is_refused(tmp_path):
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather((39.02, 39.92)), K1)
    with pytest.raises(
        SchemaError, match=r"already stored with the same knowledge time.*declare the later time it was"
    ):
        store.ingest("weather", weather((1.0, 39.92)), K1)


@pytest.mark.slow
def test_ingest_killed_mid_write_leaves_previous_store_readable(tmp_path):
    """SIGKILL a large ingest at several moments: the store reads as before or as after, never half."""
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather(), K1)
    before = store.read("weather")
    script = textwrap.dedent(
        f"""
        import pandas as pd
        from featurelock.data.store import RawStore
        from featurelock.features.project import Project
        n = 400_000
        frame = pd.DataFrame({{
            "origin": [f"A{{i:06d}}" for i in range(n)],
            "event_timestamp": pd.Series([pd.Timestamp("2013-06-01T00:00Z")] * n),
        }})
        for c in ["year", "month", "day", "hour"]:
            frame[c] = 1
        for c in ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip",
                  "pressure", "visib"]:
            frame[c] = 1.5
        print("ready", flush=True)
        sources = Project({str(REPO_ROOT)!r}).sources
        RawStore({str(tmp_path)!r}, sources).ingest("weather", frame, "2014-03-01T00:00:00Z")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    folder = tmp_path / "weather"
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".tmp-") for p in folder.iterdir()):
        assert proc.poll() is None, "the ingest finished before it could be killed mid-write"
        assert time.monotonic() < deadline
        time.sleep(0.0005)
    os.kill(proc.pid, signal.SIGKILL)  # the batch file is being written right now
    proc.wait()
    pd.testing.assert_frame_equal(store.read("weather"), before)
    visible = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".tmp-"))
    assert len(visible) == 1 and visible[0].startswith("k20140102")


def test_knowledge_time_only_moves_forward_and_never_precedes_the_facts(tmp_path):
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather(), K1)  # events of 2013, known 2014-01-02
    before = sorted(p.name for p in (tmp_path / "weather").iterdir())
    backdated = weather((1.0, 40.0))
    with pytest.raises(
        SchemaError,
        match=r"knowledge_time=2013-12-31T00:00:00\+00:00 for table 'weather' is earlier than 2014-01-02",
    ):
        store.ingest("weather", backdated, "2013-12-31T00:00:00Z")
    with pytest.raises(
        SchemaError, match=r"is before the batch's own event .* a fact is known after it happens"
    ):
        RawStore(tmp_path / "other", SOURCES).ingest("weather", backdated, "2013-01-01T00:00:00Z")
    with pytest.raises(SchemaError, match=r"knowledge_time=2200-01-01T00:00:00\+00:00 is in the future"):
        store.ingest("weather", backdated, "2200-01-01T00:00:00Z")
    with pytest.raises(
        ValidationError, match=r"knowledge_time='2999-01-01T00:00:00Z' is outside the supported"
    ):
        store.ingest("weather", backdated, "2999-01-01T00:00:00Z")
    assert sorted(p.name for p in (tmp_path / "weather").iterdir()) == before  # nothing written


def test_issue20_item6_a_backdated_batch_of_another_table_is_refused(tmp_path):
    """Before: knowledge time was checked per table, so a weather batch known 2014-01-05 was accepted
    after a flights correction known 2014-02-01, and a set pinned to 2014-02-01 changed."""
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather(), K1)
    store.ingest("weather", weather((1.0, 41.0)), "2014-02-01T00:00:00Z")
    pinned = store.fingerprint("weather", pd.Timestamp("2014-02-01T00:00:00Z"))
    with pytest.raises(
        SchemaError,
        match=r"knowledge_time=2014-01-05T00:00:00\+00:00 for table 'airlines' is earlier than "
        r"2014-02-01T00:00:00\+00:00, already ingested \(table 'weather'\).*Declare the time",
    ):
        store.ingest("airlines", airlines(), "2014-01-05T00:00:00Z")
    assert not (tmp_path / "airlines").exists() or not any((tmp_path / "airlines").iterdir())
    assert store.fingerprint("weather", pd.Timestamp("2014-02-01T00:00:00Z")) == pinned


def test_as_of_after_the_newest_knowledge_time_is_refused(tmp_path):
    from featurelock.training.dataset import resolve_as_of

    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather(), K1)
    assert resolve_as_of(None, store) == (ts(K1), "newest knowledge time in the raw store")
    assert resolve_as_of(K1, store) == (ts(K1), "argument")
    with pytest.raises(ValidationError, match=r"as_of=2014-03-01T00:00:00\+00:00 is after the newest"):
        resolve_as_of("2014-03-01T00:00:00Z", store)


def test_issue20_item9_several_tables_are_ingested_all_or_nothing(tmp_path, monkeypatch):
    """Before: a demo failing on its second table left the first stored, and the rerun was refused
    with advice to send a correction."""
    from featurelock.data import store as store_module

    store = RawStore(tmp_path, SOURCES)
    broken = weather().drop(columns=["temp"])
    with pytest.raises(SchemaError):
        store.ingest_all([("airlines", airlines(), K1), ("weather", broken, K1)])
    assert store.knowledge_times() == []  # the valid first table was not written either
    real = store_module.write_parquet
    calls = []

    def dies_on_the_second(frame, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real(frame, path)

    monkeypatch.setattr(store_module, "write_parquet", dies_on_the_second)
    with pytest.raises(OSError, match="disk full"):
        store.ingest_all([("airlines", airlines(), K1), ("weather", weather(), K1)])
    monkeypatch.undo()
    assert store.knowledge_times() == [] and not calls[0].exists()  # the first write was taken back
    results = store.ingest_all([("airlines", airlines(), K1), ("weather", weather(), K1)])  # the rerun
    assert [r.status for r in results] == ["written", "written"]


def test_issue20_item9_a_repeated_batch_with_other_values_gets_advice_that_fits(tmp_path):
    store = RawStore(tmp_path, SOURCES)
    store.ingest("weather", weather(), K1)
    with pytest.raises(
        SchemaError, match=r"with other values: a stored batch is never rewritten.*fresh data directory"
    ):
        store.ingest("weather", weather((1.0, 2.0)), K1)
