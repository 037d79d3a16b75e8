"""Feast value protos to Python values on the serving path, as Feast converts them.

Feast's ``feast_value_type_to_python_type`` tests a value against every kind it knows (JSON, lists,
maps, timestamps, UUIDs, decimals) before returning it: ~2.5 us a value, most of a batch's
conversion. For the plain scalar kinds it returns the proto's field as it is, so ``python_value``
does that directly and hands every other kind (and an unset value) to Feast's function.
``tests/serving/test_values.py`` checks both agree on every kind.
"""

from __future__ import annotations

from typing import Any

#: Kinds Feast returns unchanged (``getattr(value, kind)``): see ``feast.type_map``.
PLAIN_KINDS = frozenset(
    {"double_val", "float_val", "int64_val", "int32_val", "bool_val", "string_val", "bytes_val"}
)


def python_value(value: Any) -> Any:
    """The Python value Feast's ``feast_value_type_to_python_type`` gives for ``value``."""
    kind = value.WhichOneof("val")
    if kind in PLAIN_KINDS:
        return getattr(value, kind)
    from feast.type_map import feast_value_type_to_python_type

    return feast_value_type_to_python_type(value)
