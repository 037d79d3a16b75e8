"""Request-time feature values: one rule for training (columns) and serving (one request).

A request feature is one of two forms, both pure functions of request fields:

- a **column function** (the default): pandas Series in (each input in its canonical dtype, see
  ``entity_rows.typed_input``), a Series out. Offline it runs once over the whole column; served,
  on the batch's unseen inputs, which costs pandas' fixed overhead (~0.3 ms a call) even for one row.
- a **row function** (``@request_feature(..., per_row=True)``): one Python value per input in, one
  value out, called once per row offline and once per unseen input online (microseconds). Inputs
  are plain Python values given by ``row_input`` (``None`` when missing; a timestamp as an aware
  ``datetime`` in UTC, a float as ``float``, an int as ``int``, a string as ``str``; a timestamp
  with nonzero nanoseconds, which a ``datetime`` cannot hold, is refused), the output is made
  canonical by ``row_output`` (``None`` when missing) in both places, so the served value is the
  value training computed for the same input, by construction; ``tests/features/
  test_request_values.py`` checks it on every population row of a real project.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from featurelock.core.errors import DefinitionError, ValidationError
from featurelock.features.spec import PANDAS_DTYPE, FeatureSpec


def _missing(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or value is pd.NA or value is pd.NaT


def row_input(value: Any, kind: str) -> Any:
    """One request input as a row function receives it (see the module docstring)."""
    if _missing(value):
        return None
    if kind == "timestamp":
        if type(value) is datetime:  # the API's: no pandas
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        ts = pd.Timestamp(value)
        if ts.nanosecond:
            raise ValidationError(
                f"timestamp input {value!r} has nanoseconds ({ts.nanosecond}); a row function receives "
                "a datetime (microseconds): round the input to microseconds."
            )
        return (ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)).to_pydatetime()
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    return value


def row_output(value: Any, spec: FeatureSpec) -> Any:
    """A row function's result, canonical for its dtype (``None`` when missing)."""
    if _missing(value):
        return None
    if spec.dtype == "float64":
        return float(value)
    if spec.dtype == "Int64":
        if isinstance(value, float) and not value.is_integer():
            raise DefinitionError(
                f"{spec.module or spec.column}: returned {value!r} for an Int64 feature; return an int "
                "(or None when missing)."
            )
        return int(value)
    return str(value)


def row_value(spec: FeatureSpec, inputs: Sequence[Any], kinds: Sequence[str]) -> Any:
    """A row function's canonical value for one request's raw inputs (in ``spec.inputs`` order)."""
    return row_output(spec.function(*[row_input(v, k) for v, k in zip(inputs, kinds, strict=True)]), spec)


def request_column(spec: FeatureSpec, args: Sequence[pd.Series], kinds: Sequence[str]) -> pd.Series:
    """The feature's column for typed input columns (``spec.inputs`` order), in its pandas dtype."""
    if not spec.per_row:
        return spec.function(*args).astype(PANDAS_DTYPE[spec.dtype])
    columns = [[row_input(v, kind) for v in column] for column, kind in zip(args, kinds, strict=True)]
    values = [row_output(spec.function(*row), spec) for row in zip(*columns, strict=True)]
    return pd.Series(values, dtype=PANDAS_DTYPE[spec.dtype])
