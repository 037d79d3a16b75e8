"""Values written into SQL text: one quoting rule for every literal the engine builds."""

from __future__ import annotations


def string_literal(text: object) -> str:
    """``text`` as a SQL string literal (a quote inside is doubled: a path like ``/tmp/it's`` works)."""
    return "'" + str(text).replace("'", "''") + "'"
