"""State files read at the boundary: a JSON file featurelock wrote, refused in featurelock's words
when it is not what it should be (corrupt, truncated, of another kind), never a parser's traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from featurelock.core.errors import ValidationError


def read_json(path: Path, what: str, fix: str, kind: type = dict) -> Any:
    """The JSON document at ``path`` (a ``kind``); ``what`` names it, ``fix`` says what to do."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        where = (
            f"line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        )
        raise ValidationError(f"{path} is not {what} (not JSON: {where}); {fix}") from exc
    except IsADirectoryError as exc:
        raise ValidationError(f"{path} is a directory, not {what}; {fix}") from exc
    if not isinstance(data, kind):
        raise ValidationError(f"{path} is not {what} (a JSON {type(data).__name__}); {fix}")
    return data
