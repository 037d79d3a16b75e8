"""Pickle-free model artifacts (skops), verified by hash before they are loaded.

Two hashes per artifact:
- ``file_sha256``: the bytes on disk; loading refuses a file whose bytes do not match.
- ``content_sha256``: the model's content (skops schema with object ids renumbered and array
  members replaced by their own hashes). skops zips carry timestamps and memory addresses, so
  two identical models never have identical bytes; their content hash is identical.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio

from featurelock.core.atomic import write_atomic
from featurelock.core.errors import FeaturelockError, ValidationError

#: Types skops must be told to trust beyond its defaults come from each model spec
#: (``ModelSpec.trusted_types``, pinned in the project's code). Never ``trusted=True``: anything
#: else in a file is refused.


class ArtifactError(FeaturelockError):
    http_status = 500


def _canonical(node: Any, archive: zipfile.ZipFile, ids: dict[int, int]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key in sorted(node):
            value = node[key]
            if key == "__id__":
                out[key] = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str) and value in archive.namelist():
                out[key] = "sha256:" + hashlib.sha256(archive.read(value)).hexdigest()
            else:
                out[key] = _canonical(value, archive, ids)
        return out
    if isinstance(node, list):
        return [_canonical(v, archive, ids) for v in node]
    return node


def content_sha256(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
        canonical = _canonical(schema, archive, {})
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def save_model(model: Any, path: Path, trusted: list[str]) -> dict[str, str]:
    """Write ``model`` with skops (atomically); return its file and content hashes."""
    data = sio.dumps(model)
    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in trusted]
    if untrusted:
        raise ArtifactError(
            f"The model holds types skops does not trust and its model spec has not pinned: {untrusted}. "
            "Review them, then pin them: @model_spec(trusted_types=(...)) for a declared spec, "
            "trusted_types=(...) for an ad-hoc estimator."
        )
    write_atomic(path, lambda tmp: tmp.write_bytes(data))
    return {
        "file_sha256": "sha256:" + hashlib.sha256(data).hexdigest(),
        "content_sha256": content_sha256(data),
    }


def load_model(path: Path, expected_file_sha256: str, trusted: list[str]) -> Any:
    """Load a skops artifact after checking its bytes against the recorded SHA-256."""
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"model file {str(path)!r} does not exist.")
    data = path.read_bytes()
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != expected_file_sha256:
        raise ArtifactError(
            f"Refusing to load {path}: its SHA-256 is {actual}, but the run recorded {expected_file_sha256}. "
            "The file was changed or replaced after training; retrain or restore it."
        )
    return sio.loads(data, trusted=trusted)
