"""The typed results ``featurelock.api`` returns where no engine type says it already (the engine's
own: ``IngestResult``, ``ViewTable``, ``TrainResult``, ``Reproduction``, ``Verification``,
``ParityReport``, ``ReplayReport``, ``SimulationReport``, ``Lineage``, ``Exported``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from featurelock.training.mlflow_export import Exported


@dataclass(frozen=True)
class DatasetBuilt:
    """A training set written with its manifest (``featurelock dataset build``)."""

    service: str
    rows: int
    as_of: str
    as_of_source: str
    knowledge: str
    sha256: str
    folder: Path

    def document(self) -> dict[str, Any]:
        return {**asdict(self), "folder": str(self.folder)}


@dataclass(frozen=True)
class RunSummary:
    """One line of ``featurelock runs``."""

    run_id: str
    service: str
    model: str
    roc_auc: float
    promoted: bool
    report: str


@dataclass(frozen=True)
class Exports:
    """What ``runs export --mlflow`` logged, and where."""

    tracking_uri: str
    runs: list[Exported]


@dataclass(frozen=True)
class Registered:
    """The registry's feature views (name, ttl, columns) and services (name, features), by name."""

    views: list[tuple[str, str, list[str]]]
    services: list[tuple[str, str]]


@dataclass(frozen=True)
class Served:
    """The project's example requests answered by its API on loopback, and the log it wrote."""

    answers: list[tuple[dict[str, Any], dict[str, Any]]]
    log: Path
