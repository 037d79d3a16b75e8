"""Row functions (``per_row=True``): one rule for their inputs and outputs offline and online, the
lock's trial of their null policy, and fingerprints of column functions left as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from featurelock.core.errors import DefinitionError, LockError, ValidationError
from featurelock.features.declare import RequestInput
from featurelock.features.fingerprint import fingerprint
from featurelock.features.request_values import request_column, row_input, row_output, row_value
from featurelock.features.spec import request_feature
from featurelock.training.entity_rows import typed_input

EST = timezone(timedelta(hours=-5))


def spec_of(dtype: str, function=None, per_row: bool = True):
    def answer_v1(value):
        """A test feature.

        Entity: x. Inputs: value. Null policy: null when value is null. Owner: tests.
        """
        return value

    fn = request_feature(entity="x", inputs=("value",), dtype=dtype, owner="tests", per_row=per_row)(
        function or answer_v1
    )
    return fn.__feature__


def test_row_inputs_are_canonical_whatever_form_they_arrive_in():
    moment = datetime(2013, 11, 3, 6, 30, 0, 5, tzinfo=UTC)
    for given in (
        datetime(2013, 11, 3, 1, 30, 0, 5, tzinfo=EST),  # the API's datetime, another offset
        datetime(2013, 11, 3, 6, 30, 0, 5),  # naive: UTC, as typed_input reads it
        "2013-11-03T01:30:00.000005-05:00",  # a receipt's text
        pd.Timestamp("2013-11-03T06:30:00.000005Z").as_unit("ns"),  # a typed column's value
    ):
        got = row_input(given, "timestamp")
        assert got == moment and type(got) is datetime and got.tzinfo is UTC
    for missing in (None, float("nan"), pd.NaT, pd.NA):
        assert row_input(missing, "timestamp") is None and row_input(missing, "float") is None
    assert row_input(2475, "float") == 2475.0 and type(row_input(2475, "float")) is float
    assert row_input(3.0, "int") == 3 and type(row_input(3.0, "int")) is int
    assert row_input("N14228", "string") == "N14228"


def test_a_timestamp_with_nanoseconds_is_refused_not_truncated():
    with pytest.raises(ValidationError, match=r"has nanoseconds \(7\).*round the input to microseconds"):
        row_input(pd.Timestamp("2013-11-03T06:30:00.000000007Z"), "timestamp")


def test_the_same_inputs_give_the_same_row_input_typed_or_raw():
    """What serving passes (a raw value) and what training passes (the typed column's value) agree."""
    raw = [datetime(2013, 3, 10, 2, 30, tzinfo=EST), None, datetime(2013, 1, 1, tzinfo=UTC)]
    typed = typed_input(raw, RequestInput("t", "timestamp", "a time"))
    assert [row_input(v, "timestamp") for v in raw] == [row_input(v, "timestamp") for v in typed]
    raw_f = [1.5, None, float("nan"), 7]
    typed_f = typed_input(raw_f, RequestInput("d", "float", "a number"))
    assert (
        [row_input(v, "float") for v in raw_f]
        == [row_input(v, "float") for v in typed_f]
        == [1.5, None, None, 7.0]
    )


def test_row_outputs_are_canonical_for_their_dtype():
    assert row_output(5, spec_of("float64")) == 5.0 and type(row_output(5, spec_of("float64"))) is float
    assert row_output(float("nan"), spec_of("float64")) is None
    assert row_output(pd.NA, spec_of("Int64")) is None
    assert row_output(4.0, spec_of("Int64")) == 4 and type(row_output(4.0, spec_of("Int64"))) is int
    assert row_output(7, spec_of("string")) == "7"
    with pytest.raises(DefinitionError, match=r"returned 2\.5 for an Int64 feature; return an int"):
        row_output(2.5, spec_of("Int64"))


def test_a_row_function_column_equals_its_values_one_by_one():
    def doubled_v1(value):
        """Twice the value.

        Entity: x. Inputs: value. Null policy: null when value is null. Owner: tests.
        """
        return None if value is None else value * 2

    spec = spec_of("float64", doubled_v1)
    column = request_column(spec, [pd.Series([1.5, None, -2.0])], ["float"])
    assert column.dtype == "float64"
    assert [None if pd.isna(v) else v for v in column] == [3.0, None, -4.0]
    assert [row_value(spec, [v], ["float"]) for v in (1.5, None, -2.0)] == [3.0, None, -4.0]


def test_per_row_enters_the_fingerprint_only_when_set():
    column, row = spec_of("float64", per_row=False), spec_of("float64")
    assert fingerprint(column, "code", None, {}) != fingerprint(row, "code", None, {})
    assert not column.per_row and row.per_row


def test_lock_refuses_a_row_function_that_fails_on_a_missing_input(tmp_path):
    import shutil

    from featurelock.features.lockfile import add_new_versions
    from featurelock.features.project import Project
    from tests.conftest import nyc

    copy = tmp_path / "nyc"
    shutil.copytree(nyc().root, copy, ignore=shutil.ignore_patterns("data", ".venv", ".git", "tests"))
    (copy / "feature_repo" / "feature_store.spark.yaml").unlink(missing_ok=True)
    module = copy / "features" / "flight" / "sched_dep_hour_v3.py"
    text = (copy / "features" / "flight" / "sched_dep_hour_v2.py").read_text()
    text = text.replace("_v2", "_v3").replace("version 2", "version 3")
    module.write_text(text.replace("    if sched_dep_time is None:\n        return None\n", ""))
    before = (copy / "features.lock").read_text()
    with pytest.raises(LockError, match=r"sched_dep_hour_v3.py: the function fails on its declared inputs"):
        add_new_versions(Project(copy, tmp_path / "home"))
    assert (copy / "features.lock").read_text() == before
