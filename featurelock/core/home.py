"""The one rule for where a project's generated data lives (its data directory)."""

from __future__ import annotations

import os
from pathlib import Path


def data_home_of(feature_repo: str | Path) -> Path:
    """``$FEATURELOCK_HOME`` if set, else ``<feature_repo>/data``.

    Used by featurelock and by the Feast store classes it names in ``feature_store.yaml``, so plain
    ``feast`` in ``feature_repo/`` and ``featurelock`` read the same registry, stores and tables.
    """
    home = os.environ.get("FEATURELOCK_HOME")
    return Path(home).resolve() if home else Path(feature_repo).resolve() / "data"
