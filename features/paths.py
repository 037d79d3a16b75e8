"""Where things live: the repository and the one ignored data directory.

The data directory defaults to ``feature_repo/data`` and is overridden by ``FEATURELOCK_HOME``.
Paths are resolved from this file, never from the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FEATURE_REPO = REPO_ROOT / "feature_repo"
FEATURES_PACKAGE = REPO_ROOT / "features"
LOCK_FILE = REPO_ROOT / "features.lock"


def data_home() -> Path:
    """The data directory: ``$FEATURELOCK_HOME`` if set, else ``feature_repo/data``."""
    home = os.environ.get("FEATURELOCK_HOME")
    return Path(home).resolve() if home else FEATURE_REPO / "data"


def raw_dir(home: Path | None = None) -> Path:
    return (home or data_home()) / "raw"


def feature_tables_dir(home: Path | None = None) -> Path:
    return (home or data_home()) / "features"
