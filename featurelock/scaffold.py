"""``featurelock init DIR``: write a new project that runs as it is.

The project (from ``featurelock/templates/project``) has one source with a tiny CSV of synthetic
visits (generated here from a fixed seed, so every ``init`` writes the same bytes), one entity,
one feature, one population, two model specs, one service, serving examples, a README and a
test. ``init`` then locks its versions, so ``featurelock demo --project DIR`` runs at once.
``init --empty`` writes the skeleton alone (``featurelock/templates/empty``: each file holds a
commented example, two model specs, nothing declared or locked).
"""

from __future__ import annotations

import random
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template

from featurelock.core.atomic import unwritable, write_text_atomic
from featurelock.core.errors import ValidationError
from featurelock.features.lockfile import add_new_versions
from featurelock.features.project import Project

TEMPLATE = Path(__file__).resolve().parent / "templates" / "project"
EMPTY = TEMPLATE.parent / "empty"
#: What the empty skeleton takes from the sample as it is: Feast's files and the two model specs.
SHARED = ("feature_repo/definitions.py", "feature_repo/feature_store.yaml", "training/models.py")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def visits_csv(seed: int = 7, customers: int = 20, days: int = 90) -> str:
    """Synthetic visits: each customer visits on a day with a probability of their own."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = ["visit_id,event_timestamp,customer,amount"]
    for c in range(1, customers + 1):
        rate = 0.1 + 0.6 * rng.random()
        for d in range(days):
            if rng.random() < rate:
                when = start + timedelta(days=d, minutes=rng.randrange(8 * 60, 20 * 60))
                amount = round(5 + 95 * rng.random(), 2)
                rows.append(f"v{c:02d}{d:03d},{when.strftime('%Y-%m-%dT%H:%M:%SZ')},c{c:02d},{amount}")
    return "\n".join(rows) + "\n"


def init_project(directory: str | Path, empty: bool = False) -> Path:
    """Write a new project into ``directory`` (which must not exist or be empty); return its root.
    ``empty``: the skeleton with nothing declared or locked."""
    root = Path(directory).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ValidationError(
            f"dir={str(directory)!r} is a file; `featurelock init` writes a new project into a folder."
        )
    if root.exists() and any(root.iterdir()):
        raise ValidationError(
            f"dir={str(directory)!r} exists and is not empty; `featurelock init` writes a new project "
            "into a new (or empty) directory."
        )
    name = re.sub(r"[^A-Za-z0-9_]", "_", root.name) or "project"
    if not _NAME.match(name):
        name = f"p_{name}"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable(root, exc) from exc
    template = EMPTY if empty else TEMPLATE
    files = [(p, p.relative_to(template)) for p in sorted(template.rglob("*")) if p.is_file()]
    if empty:
        files = sorted([*files, *((TEMPLATE / f, Path(f)) for f in SHARED)], key=lambda pair: str(pair[1]))
    for src, relative in files:
        if "__pycache__" in src.parts:
            continue
        dest = root / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix in (".yaml", ".md"):
            write_text_atomic(dest, Template(src.read_text(encoding="utf-8")).safe_substitute(name=name))
        else:
            shutil.copyfile(src, dest)
    write_text_atomic(root / "feature_repo" / ".feastignore", "data/\n")
    write_text_atomic(root / ".gitignore", "feature_repo/data/\n__pycache__/\n")
    if not empty:
        write_text_atomic(root / "raw" / "visits.csv", visits_csv())
        add_new_versions(Project(root))
    return root
