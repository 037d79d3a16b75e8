"""The two records featurelock writes and reads again: a training set's manifest and a run's
record (``run.json``). Typed here, read and written only through these models; the JSON on disk
is what it was (the models dump exactly the keys they were given, so an old record stays as it was
read). A deep path into a record lives here, as a property, and nowhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticError

from featurelock.core.errors import ValidationError
from featurelock.core.files import read_json

MANIFEST_FORMAT = "featurelock-dataset/2"
RUN_FORMAT = "featurelock-run/1"
STAGES = ("source data", "feature definitions", "population", "environment")


class Record(BaseModel):
    """A record as written: frozen, extra keys kept (a newer engine's, read by an older one)."""

    model_config = ConfigDict(frozen=True, extra="allow", protected_namespaces=())
    what: ClassVar[str] = "record"

    def to_json(self) -> dict[str, Any]:
        """The record as its JSON file holds it (only the keys it was made or read with)."""
        return self.model_dump(mode="python", exclude_unset=True)

    def text(self) -> str:
        """The file's text: sorted keys, indented, one trailing newline."""
        return json.dumps(self.to_json(), sort_keys=True, indent=2) + "\n"

    @classmethod
    def read(cls, data: object, where: Path | str, fix: str) -> Any:
        """``data`` (a parsed JSON file at ``where``) as this record, or one line naming the first
        field that does not fit and ``fix``."""
        try:
            return cls.model_validate(data)
        except PydanticError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or "the record"
            kind = first.get("type", "invalid")
            found = "missing" if kind == "missing" else f"{first.get('input')!r} ({kind})"
            raise ValidationError(f"{where} is a damaged {cls.what}: {field!r} is {found}; {fix}") from None


class Manifest(Record):
    """Everything needed to rebuild a training set, and its content hash (``manifest.json``)."""

    what: ClassVar[str] = "dataset manifest"

    format: str
    project: str = ""
    service: str
    as_of: str
    as_of_source: str = ""
    knowledge: str = "as-of"  # manifests written before knowledge modes: as-of
    feature_generation: str | None = None
    inputs: dict[str, dict[str, Any]]
    population_rows_sha256: str = ""
    rows: int = 0
    columns: dict[str, str] = {}
    content_sha256: str

    @property
    def sha256(self) -> str:
        return self.content_sha256

    def stage(self, name: str) -> dict[str, Any]:
        """The inputs of one stage (``STAGES``)."""
        return self.inputs[name]

    @property
    def environment(self) -> dict[str, Any]:
        return self.inputs["environment"]

    @property
    def features_lock_sha256(self) -> str:
        return str(self.inputs["feature definitions"]["features_lock_sha256"])

    @property
    def population(self) -> str:
        """``ref fingerprint`` of the population the set was built from."""
        population = self.inputs["population"]
        return f"{population['ref']} {population['fingerprint']}"

    @property
    def feature_fingerprints(self) -> dict[str, str]:
        """ref -> fingerprint of every feature and request feature the set was built with."""
        defs = self.inputs["feature definitions"]
        return {f["ref"]: f["fingerprint"] for f in [*defs["features"], *defs["request_features"]]}


class RunRecord(Record):
    """A run: its config, its training set's manifest, model files, metrics and hashes (``run.json``)."""

    what: ClassVar[str] = "run record"

    format: str
    run_id: str
    config: dict[str, Any]
    feature_columns: list[str]
    categories: dict[str, list[Any]] = {}  # runs before categorical encoding: numbers only
    model: dict[str, Any]
    baseline: dict[str, Any]
    dataset: Manifest
    split: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    holdout_predictions_sha256: str
    git: dict[str, Any]
    environment: dict[str, Any]
    project: str = ""
    features_lock_sha256: str
    previous_promoted: str | None = None
    estimator: dict[str, Any] | None = None  # an ad-hoc estimator (featurelock.api.train(estimator=))
    hyperparameters: dict[str, dict[str, Any]] = {}

    @property
    def service(self) -> str:
        return str(self.config["service"])

    @property
    def model_spec(self) -> str:
        return str(self.config["model"])

    @property
    def model_file_sha256(self) -> str:
        return str(self.model["file_sha256"])

    @property
    def model_content_sha256(self) -> str:
        return str(self.model["content_sha256"])

    def metric(self, name: str, which: str = "model") -> float:
        """A holdout metric of ``which`` (``model``, ``baseline``)."""
        return float(self.metrics[which][name])

    @property
    def requirements_lock_sha256(self) -> str:
        return str(self.environment["requirements_lock_sha256"])

    @property
    def git_commit(self) -> str:
        return str(self.git["commit"])

    @property
    def git_dirty(self) -> bool:
        return bool(self.git["dirty"])


def read_manifest(path: Path) -> Manifest:
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.exists():
        raise ValidationError(f"manifest={str(path)!r} does not exist; pass a manifest.json or its folder.")
    manifest = read_json(
        path,
        "a featurelock dataset manifest",
        "pass the manifest.json written beside a training set, or its folder.",
        kind=object,
    )
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValidationError(
            f"{path} is not a featurelock dataset manifest (format "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r})."
        )
    fix = "restore the manifest.json written beside the training set (or build the set again)."
    for key, kind in (("service", str), ("as_of", str), ("content_sha256", str), ("inputs", dict)):
        if not isinstance(manifest.get(key), kind):
            raise ValidationError(
                f"{path} is a damaged dataset manifest: {key!r} is {manifest.get(key)!r}, expected a "
                f"{kind.__name__}; {fix}"
            )
    for stage in STAGES:
        if not isinstance(manifest["inputs"].get(stage), dict):
            raise ValidationError(
                f"{path} is a damaged dataset manifest: inputs[{stage!r}] is "
                f"{manifest['inputs'].get(stage)!r}, expected a mapping; {fix}"
            )
    return Manifest.read(manifest, path, fix)


def read_run_record(path: Path, fix: str) -> RunRecord:
    """``run.json`` at ``path`` (it exists), or one line saying it is not a run record and ``fix``."""
    record = read_json(path, "a run record", fix)
    if record.get("format") != RUN_FORMAT:
        raise ValidationError(f"{path} is not a featurelock run record.")
    return RunRecord.read(record, path, fix)
