"""The serving path's value conversion gives what Feast's ``feast_value_type_to_python_type`` gives."""

from __future__ import annotations

import pytest
from feast.protos.feast.types.Value_pb2 import BoolList, DoubleList, Value
from feast.type_map import feast_value_type_to_python_type

from featurelock.serving.values import PLAIN_KINDS, python_value

VALUES = [
    Value(double_val=0.1),
    Value(double_val=float("-inf")),
    Value(double_val=-0.0),
    Value(float_val=1.5),
    Value(int64_val=-(2**63)),
    Value(int32_val=2**31 - 1),
    Value(bool_val=False),
    Value(string_val="N14228"),
    Value(string_val=""),
    Value(bytes_val=b"\x00\xff"),
    Value(unix_timestamp_val=1_356_998_400),  # Feast makes a UTC datetime: handed to Feast
    Value(double_list_val=DoubleList(val=[1.0, 2.5])),
    Value(bool_list_val=BoolList(val=[True])),
    Value(),  # unset: None
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: v.WhichOneof("val") or "unset")
def test_python_value_equals_feasts(value):
    ours, feasts = python_value(value), feast_value_type_to_python_type(value)
    assert ours == feasts
    assert type(ours) is type(feasts)


def test_every_plain_kind_is_checked_above():
    assert PLAIN_KINDS == {v.WhichOneof("val") for v in VALUES} & PLAIN_KINDS
    assert python_value(Value(double_val=0.1)) == 0.1
    assert python_value(Value()) is None
