"""Request features on the serving path: the locked functions' own values, memo or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from featurelock.features.catalog import discover
from featurelock.features.plan import resolve
from featurelock.serving.request_memo import RequestFeatures, input_key
from featurelock.training.entity_rows import Request, request_columns, requests_frame
from tests.conftest import nyc

CATALOG = discover(nyc())
SERVICE = nyc().service("delay_model_v1")
PLAN = resolve(CATALOG, SERVICE)
INPUTS = PLAN.inputs
EST = timezone(timedelta(hours=-5))


def requests() -> list[Request]:
    times = [
        datetime(2013, 11, 3, 5, 30, tzinfo=UTC),  # 01:30 EDT, the fall-back day
        datetime(2013, 11, 3, 6, 30, tzinfo=UTC),  # 01:30 EST, same wall clock, another instant
        datetime(2013, 11, 3, 1, 30, tzinfo=EST),  # = 06:30 UTC: the same instant as the line above
        datetime(2013, 3, 10, 7, 0, tzinfo=UTC),  # 03:00 EDT, the spring-forward day
        datetime(2013, 12, 30, 22, 0, tzinfo=UTC),
    ]
    distances = [2475, None, 2475.0, float("nan"), 17]
    return [
        Request(keys={}, inputs={"sched_dep_time": t, "distance": d}, at=datetime(2013, 12, 30, tzinfo=UTC))
        for t in times
        for d in distances
    ]


def offline(batch: list[Request]) -> dict[str, list]:
    """What training computes: the same functions over typed input columns (request_columns)."""
    columns = request_columns(PLAN, requests_frame(batch, (), INPUTS))
    return {c: [None if pd.isna(v) else v for v in s.tolist()] for c, s in columns.items()}


def test_served_request_features_equal_the_offline_computation_memo_or_not():
    specs = [CATALOG.spec(r) for r in SERVICE.request_features]
    memo = RequestFeatures(specs, INPUTS)
    batch = requests()
    first = memo.evaluate(batch)  # every distinct input computed once, in one call
    assert first == offline(batch)
    again = memo.evaluate(batch[::-1])  # all from the memo now
    assert again == offline(batch[::-1])
    one_by_one = [memo.evaluate([r]) for r in batch]
    assert [{c: v[0] for c, v in row.items()} for row in one_by_one] == [
        {c: v[i] for c, v in first.items()} for i in range(len(batch))
    ]
    assert first["sched_dep_hour_v1"][:2] == [1, 1] and first["sched_dep_hour_v1"][5] == 1  # both 01:30
    assert (
        memo.memos["sched_dep_hour_v1"] and len(memo.memos["sched_dep_hour_v1"]) == 4
    )  # 5 times, 4 instants


def test_input_keys_are_equal_exactly_when_the_typed_inputs_are():
    assert input_key(datetime(2013, 11, 3, 1, 30, tzinfo=EST)) == input_key(
        datetime(2013, 11, 3, 6, 30, tzinfo=UTC)
    )
    assert input_key(None) == input_key(float("nan"))
    assert input_key(True) != input_key(1)


def test_a_datetime_and_its_pandas_timestamp_have_one_key():
    """The key of a datetime (the API's) is computed without pandas: the same instant in
    nanoseconds as ``pd.Timestamp(value).value``, before 1970 and to the microsecond too."""
    moments = [
        datetime(2013, 11, 3, 1, 30, 0, 999_999, tzinfo=EST),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(1678, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2262, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14))),
    ]
    for moment in moments:
        assert input_key(moment) == ("time", pd.Timestamp(moment).value)
        assert input_key(moment) == input_key(pd.Timestamp(moment))
    assert input_key(datetime(2013, 1, 1)) == ("time", ("naive", datetime(2013, 1, 1)))


@pytest.mark.slow
def test_row_functions_served_one_by_one_equal_training_on_every_population_row(real_home):
    """delay_model_v4's request features are v1's as row functions (per_row=True). On every row of
    the real population (328,521 flights), each request served alone, its time sent as the API
    sends it (a datetime with New York's offset), equals the column training computed with v1's
    pandas functions and with v2's row functions."""
    from featurelock.training.dataset import raw_store
    from featurelock.training.population import build_population

    project = nyc(real_home)
    catalog = discover(project)
    v1, v4 = project.service("delay_model_v1"), project.service("delay_model_v4")
    store = raw_store(project)
    pop = build_population(project, catalog.population(v1.population), store.knowledge_times()[-1], store)
    new_york = timezone(timedelta(hours=-4))
    requests = [
        Request(
            keys={},
            inputs={
                "sched_dep_time": None if pd.isna(t) else t.to_pydatetime().astimezone(new_york),
                "distance": None if pd.isna(d) else int(d),
            },
            at=datetime(2013, 12, 30, tzinfo=UTC),
        )
        for t, d in zip(pop["sched_dep_time"], pop["distance"], strict=True)
    ]
    assert len(requests) == 328_521  # the population: non-cancelled 2013 NYC departures
    inputs = resolve(catalog, v4).inputs
    frame = requests_frame(requests, (), inputs)
    trained_v1 = request_columns(resolve(catalog, v1), frame)
    trained_v4 = request_columns(resolve(catalog, v4), frame)
    served = RequestFeatures([catalog.spec(r) for r in v4.request_features], inputs)
    one_by_one = [served.evaluate([r]) for r in requests]
    for old, new in (("sched_dep_hour_v1", "sched_dep_hour_v2"), ("sched_dep_dow_v1", "sched_dep_dow_v2")):
        expected = [None if pd.isna(v) else v for v in trained_v1[old].tolist()]
        assert [None if pd.isna(v) else v for v in trained_v4[new].tolist()] == expected
        assert [row[new][0] for row in one_by_one] == expected
    expected = [None if pd.isna(v) else v for v in trained_v1["distance_v1"].tolist()]
    assert [row["distance_v2"][0] for row in one_by_one] == expected
