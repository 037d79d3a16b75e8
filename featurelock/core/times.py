"""Timestamps given by a caller: parsed once, refused when naive or unreadable (one wording)."""

from __future__ import annotations

import pandas as pd

from featurelock.core.errors import ValidationError


def aware_timestamp(value: object, what: str) -> pd.Timestamp:
    """``value`` as a timezone-aware timestamp in UTC; ``what`` names the argument in the errors."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{what}={value!r} is not a timestamp; pass ISO 8601 with a UTC offset, e.g. 2024-04-01T00:00Z."
        ) from exc
    if ts is pd.NaT:
        raise ValidationError(f"{what}={value!r} is not a timestamp; pass ISO 8601 with a UTC offset.")
    if ts.tzinfo is None:
        raise ValidationError(
            f"{what}={value!r} is naive; pass a timezone-aware datetime (UTC offset: '{ts.isoformat()}Z')."
        )
    return ts.tz_convert("UTC")
