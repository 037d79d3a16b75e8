"""Shared helpers for the test suite (kept out of Feast's scanner: tests/ is outside feature_repo/)."""

from __future__ import annotations

import pandas as pd
import pytest


def ts(text: str) -> pd.Timestamp:
    """A UTC timestamp from ISO text ('2013-03-10T12:00Z')."""
    return pd.Timestamp(text).tz_convert("UTC") if pd.Timestamp(text).tzinfo else pd.Timestamp(text, tz="UTC")


def utc_series(values: list[str | None]) -> pd.Series:
    return pd.Series([ts(v) if v else pd.NaT for v in values], dtype="datetime64[ns, UTC]")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh, private data directory (FEATURELOCK_HOME)."""
    monkeypatch.setenv("FEATURELOCK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
