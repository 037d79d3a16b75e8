"""Content hashes computed from values, not from file bytes.

``frame_sha256`` feeds column names, dtypes, null masks and values into SHA-256 in a fixed
byte layout, so the hash does not change with the Parquet writer, compression or row-group
size; it changes with the row order, so callers sort canonically first.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from featurelock.core.errors import ValidationError

_LAYOUT = b"featurelock-frame-v1\n"


def _dtype_label(series: pd.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return f"timestamp[{dtype.tz}]"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp[naive]"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return str(dtype)


def _update_column(digest: hashlib._Hash, name: str, series: pd.Series) -> None:
    label = _dtype_label(series)
    mask = series.isna().to_numpy(dtype=bool)
    for part in (name.encode(), label.encode()):
        digest.update(struct.pack("<I", len(part)) + part)
    digest.update(np.packbits(mask, bitorder="little").tobytes())
    if label.startswith("timestamp"):
        values = series.dt.tz_convert("UTC") if label != "timestamp[naive]" else series
        ints = values.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view("<i8").copy()
        ints[mask] = 0
        digest.update(ints.tobytes())
    elif label == "string":
        for value, is_null in zip(series.to_numpy(dtype=object), mask, strict=True):
            if is_null:
                digest.update(b"\xff\xff\xff\xff")
                continue
            if not isinstance(value, str):
                raise ValidationError(
                    f"Column {name!r} holds a {type(value).__name__} ({value!r}) among strings; "
                    "cast it to str (or to a numeric dtype) before hashing."
                )
            raw = value.encode("utf-8")
            digest.update(struct.pack("<I", len(raw)) + raw)
    elif pd.api.types.is_bool_dtype(series.dtype):
        digest.update(series.fillna(False).to_numpy(dtype="u1").tobytes())
    elif pd.api.types.is_integer_dtype(series.dtype):
        digest.update(series.fillna(0).to_numpy(dtype="<i8").tobytes())
    elif pd.api.types.is_float_dtype(series.dtype):
        digest.update(series.fillna(0.0).to_numpy(dtype="<f8").tobytes())
    else:
        raise ValidationError(
            f"Column {name!r} has dtype {series.dtype}, which frame_sha256 cannot hash; "
            "use int, float, bool, string or timezone-aware timestamp columns."
        )


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's column names, dtypes, null masks and values, in row order."""
    digest = hashlib.sha256(_LAYOUT)
    digest.update(struct.pack("<QQ", len(frame), frame.shape[1]))
    for name in frame.columns:
        _update_column(digest, str(name), frame[name])
    return digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes; ``"missing"`` if there is no such file."""
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"
