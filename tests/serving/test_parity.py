"""Parity on the real data and materialization's high-water mark."""

from __future__ import annotations

import pandas as pd
import pytest

from featurelock.serving.materialize import materialize, read_state
from featurelock.serving.parity import parity
from tests.conftest import DEFAULT_AT, nyc

pytestmark = pytest.mark.slow


def test_parity_on_1000_real_flights_has_zero_mismatches(served_home):
    report = parity(nyc(), sample=1000)
    assert report.rows == 1000
    assert all(row["compared"] == 1000 for row in report.per_feature.values())
    assert len(report.per_feature) == 11
    assert report.mismatches == 0, report.examples
    assert report.prediction_mismatches == 0 and report.max_probability_difference == 0.0
    assert report.per_feature["plane_seats_v1"]["online_nulls"] > 0  # unknown and null tailnums compared too


def test_materialize_is_incremental_and_refuses_to_go_back_in_time(served_home):
    materialize(nyc(), end=DEFAULT_AT)
    again = materialize(nyc(), end=DEFAULT_AT)
    assert [m.rows for m in again] == [0] * 6  # nothing new since the high-water mark (6 views)
    state = read_state(nyc())
    assert state["carrier_stats"]["end"] == DEFAULT_AT.isoformat()
    later = materialize(nyc(), end=DEFAULT_AT + pd.Timedelta(hours=3))
    by_view = {m.view: m.rows for m in later}
    assert by_view["carrier_stats"] == 16 and by_view["plane_specs"] == 0  # one new hour for 16 carriers
    with pytest.raises(Exception, match=r"never goes back in time.*--rewind"):
        materialize(nyc(), end=DEFAULT_AT)
    materialize(nyc(), end=DEFAULT_AT, rewind=True)
    assert read_state(nyc())["carrier_stats"]["end"] == DEFAULT_AT.isoformat()
