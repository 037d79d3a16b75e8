"""Request-time features on the serving path: the locked functions, called once per distinct input.

A request feature is a pure function of request fields (its module's contract, and what its
fingerprint locks). On the serving path each version keeps a bounded memo (LRU) from its typed
input values to its output; a request whose inputs were seen before costs a dictionary lookup, and
only unseen inputs go through the locked function: a column function in one pandas call for the
whole batch, exactly as offline (``request_values.request_column`` on ``typed_input`` columns); a
row function (``per_row=True``) once per unseen input, with the inputs and output made canonical
as offline (``request_values.row_value``). So the value served is always the function's value on
the same inputs; the memo only avoids recomputing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache

from featurelock.features.declare import RequestInput
from featurelock.features.request_values import request_column, row_value
from featurelock.features.spec import FeatureSpec
from featurelock.stores.pit import to_micros
from featurelock.training.entity_rows import Request, typed_input

_UNSEEN = object()  # a memo's miss (None is a value: a missing feature)
MEMO_SIZE = 65_536  # distinct input tuples remembered per feature version


def input_key(value: Any) -> tuple[str, Any]:
    """A hashable identity of one input value, equal exactly when ``typed_input`` makes them equal:
    an aware datetime by its UTC instant (nanoseconds), a missing value (None, NaN) as missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ("missing", None)
    if isinstance(value, pd.Timestamp):
        return ("time", value.value if value.tzinfo else ("naive", value))
    if isinstance(value, datetime):  # exact integers: what pd.Timestamp(value).value gives
        return ("time", to_micros(value) * 1_000 if value.tzinfo else ("naive", value))
    return (type(value).__name__, value)


def scalar(value: Any) -> Any:
    """A column value as JSON and the model see it: None for missing, else a Python number or text."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


class RequestFeatures:
    """The request features of a service, evaluated per batch with a memo per version."""

    def __init__(self, specs: Sequence[FeatureSpec], inputs: Mapping[str, RequestInput]) -> None:
        self.specs = list(specs)
        self.inputs = dict(inputs)
        self.memos: dict[str, LRUCache] = {s.column: LRUCache(maxsize=MEMO_SIZE) for s in self.specs}

    def evaluate(self, requests: Sequence[Request]) -> dict[str, list[Any]]:
        """Column -> one value per request (None for missing), in request order."""
        out: dict[str, list[Any]] = {}
        names = dict.fromkeys(name for spec in self.specs for name in spec.inputs)  # each input once
        identities = {name: [input_key(r.inputs.get(name)) for r in requests] for name in names}
        for spec in self.specs:
            memo = self.memos[spec.column]
            keys = list(zip(*[identities[name] for name in spec.inputs], strict=True)) or [()] * len(requests)
            batch: dict[tuple, Any] = {}  # this batch's values: what a full memo forgets is still here
            unseen: dict[tuple, int] = {}
            for i, key in enumerate(keys):
                if key in batch or key in unseen:
                    continue
                known = memo.get(key, _UNSEEN)  # a hit counts as a use (least recently used first out)
                if known is _UNSEEN:
                    unseen[key] = i  # the first request holding these inputs stands for them all
                else:
                    batch[key] = known
            kinds = [self.inputs[name].kind for name in spec.inputs]
            if unseen and spec.per_row:  # one call per unseen input, no pandas
                for key, i in unseen.items():
                    batch[key] = row_value(
                        spec, [requests[i].inputs.get(name) for name in spec.inputs], kinds
                    )
            elif unseen:
                rows = list(unseen.values())
                args = [
                    typed_input([requests[i].inputs.get(name) for i in rows], self.inputs[name])
                    for name in spec.inputs
                ]
                values = request_column(spec, args, kinds)
                for key, value in zip(unseen, values.tolist(), strict=True):
                    batch[key] = scalar(value)
            for key in unseen:
                memo[key] = batch[key]
            column = [batch[key] for key in keys]
            out[spec.column] = column
        return out
