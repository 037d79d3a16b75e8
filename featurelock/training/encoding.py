"""Categorical features into numbers: one rule for training, evaluation, parity and serving.

A categorical column's categories are fixed at training: the distinct values of the training rows,
sorted (numbers by value, strings by code point), recorded in the run (``run.json``
``categories``). A value becomes its category's position, a float; a missing value and a value
never seen in training become NaN (a missing value: imputed like any other, never an error), and
serving counts the unseen ones in the receipt. The pipeline then one-hot encodes the positions
(``categorical=True`` or ``"onehot"``) or reads them as one ordinal number (``"ordinal"``).

Runs recorded before categories were (no ``categories`` in ``run.json``) read every column as a
number, as they were trained.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from featurelock.core.errors import ValidationError

Categories = Mapping[str, Sequence[Any]]  # column -> its categories, in code order


def _key(value: Any) -> Any:
    """A value as a category key: strings as themselves, numbers by value (1 == 1.0), else None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return None if math.isnan(number) else number
    return str(value)


def _plain(value: Any) -> Any:
    """A category as JSON holds it: str, int (an integral number) or float."""
    if isinstance(value, str):
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


def fit_categories(frame: pd.DataFrame, columns: Iterable[str]) -> dict[str, list[Any]]:
    """Each column's distinct non-missing values in ``frame`` (the training rows), sorted."""
    found: dict[str, list[Any]] = {}
    for column in sorted(columns):
        keys = {_key(v) for v in frame[column].tolist()} - {None}
        strings = sorted(k for k in keys if isinstance(k, str))
        numbers = sorted(k for k in keys if not isinstance(k, str))
        if strings and numbers:
            raise ValidationError(
                f"categorical column {column!r} mixes strings {strings[:3]} and numbers {numbers[:3]} in "
                "its training rows; a categorical feature holds one kind of value (fix its SQL or dtype)."
            )
        found[column] = [_plain(k) for k in (*numbers, *strings)]
    return found


def _numbers(column: pd.Series, name: str) -> np.ndarray:
    try:
        return column.astype("float64").to_numpy(na_value=np.nan)
    except (TypeError, ValueError):
        sample = [v for v in column.dropna().unique()[:3].tolist()]
        raise ValidationError(
            f"feature column {name!r} holds values that are not numbers (e.g. {sample}); a model reads "
            "a feature as a number unless it is categorical: declare it with categorical=True (or "
            "'ordinal') in its decorator, or name it in the project's Categorical(...)."
        ) from None


class Encoder:
    """The positions of one column's categories, looked up per value."""

    def __init__(self, categories: Sequence[Any]) -> None:
        self.codes = {_key(c): float(i) for i, c in enumerate(categories)}

    def code(self, value: Any) -> tuple[float, bool]:
        """(position or NaN, whether the value is a category never seen in training)."""
        key = _key(value)
        if key is None:
            return math.nan, False
        found = self.codes.get(key)
        return (math.nan, True) if found is None else (found, False)

    def column(self, values: Iterable[Any]) -> np.ndarray:
        return np.fromiter((self.code(v)[0] for v in values), dtype=np.float64)


def encoders(categories: Categories | None) -> dict[str, Encoder]:
    return {column: Encoder(values) for column, values in sorted((categories or {}).items())}


def model_input(frame: pd.DataFrame, columns: list[str], categories: Categories | None = None) -> np.ndarray:
    """The named feature columns as a float64 matrix (NaN for missing), in the model's order; a
    categorical column (one of ``categories``) as its categories' positions.

    Columns are looked up by name here, once; the pipeline then works on positions, so the
    serving hot path can build one row as a plain array without a DataFrame.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"The input frame lacks feature column(s) {missing}; it has {sorted(frame.columns)}."
        )
    coders = encoders(categories)
    parts = []
    for c in columns:
        if c in coders:
            parts.append(coders[c].column(frame[c].tolist()))
        else:
            parts.append(_numbers(frame[c], c))
    return np.column_stack(parts).astype(np.float64, copy=False)
