"""A replayed production timeline: what serving saw, batch after batch, against the training set.

``simulate(project, every, latency)`` replays the project's own sources (``data.batches``) in a
scratch data directory, as production would have received them. At each step it ingests the
period's batch, builds the feature tables incrementally, materializes the online store up to the
batch's knowledge time, and serves through the real predictor (in process) the population rows
whose prediction times fall before the next batch, at those times, logging every receipt. At the
end it builds the served run's training set with knowledge per row and compares it with every
served feature value, cell for cell (the bar: 0 mismatches); counts the cells in which a plain
point-in-time join (knowledge as-of) differs from what was served (the skew such a join carries);
and replays the log, each receipt with what was known at its time.

The timeline uses the local profile (DuckDB, SQLite) in its own directory; the project's data
directory is only read (the run to serve).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from featurelock.core.atomic import write_text_atomic
from featurelock.core.errors import NotFoundError, ValidationError
from featurelock.data.batches import Batch, timeline
from featurelock.data.schema import EVENT_TS
from featurelock.data.store import RawStore
from featurelock.features import registration
from featurelock.features.build import build_feature_tables
from featurelock.features.lockfile import check_lock
from featurelock.features.population import PopulationSpec
from featurelock.features.project import Project
from featurelock.serving.log import PredictionLog, log_path
from featurelock.serving.materialize import materialize
from featurelock.serving.parity import same
from featurelock.serving.predictor import Predictor
from featurelock.serving.replay import replay_receipts
from featurelock.stores.pit import check_at
from featurelock.training.dataset import build_training_set
from featurelock.training.entity_rows import Request
from featurelock.training.population import build_population
from featurelock.training.runs import promote, promoted_run, read_run

MARKER = ".featurelock-simulation"
CHUNK = 1_000  # requests per predictor call


@dataclass(frozen=True)
class Step:
    known: str
    rows: int
    build_seconds: float
    materialize_seconds: float
    served: int


@dataclass(frozen=True)
class SimulationReport:
    service: str
    run_id: str
    folder: str
    steps: list[Step]
    served: int
    compared_cells: int
    mismatches: int  # served vs the training set with knowledge per row
    as_of_differences: int  # served vs the training set with one knowledge time (as-of)
    replay_mismatches: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.mismatches + self.replay_mismatches > 0


def scratch_folder(project: Project, out: str | Path | None) -> Path:
    """An empty folder for the timeline: ``out`` or ``<data>/simulation``, emptied first only when a
    simulation made it (a marker file says so); anything else is refused, never deleted."""
    folder = Path(out) if out is not None else project.home / "simulation"
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise ValidationError(
                f"--out {str(folder)!r} is a folder that holds files and was not made by `featurelock "
                "simulate`; give a new or empty folder (nothing was deleted)."
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / MARKER, "a scratch data directory of `featurelock simulate`\n")
    return folder


def due_requests(
    population: pd.DataFrame, predictor: Predictor, start: pd.Timestamp, stop: pd.Timestamp | None
) -> list[Request]:
    """The population rows whose prediction times lie in ``[start, stop)``, as requests at those times."""
    when = population[EVENT_TS]
    picked = population[(when >= start) & ((when < stop) if stop is not None else True)]
    return [
        Request(
            keys={k: row[k] for k in predictor.keys},
            inputs={n: row[n] for n in predictor.inputs},
            at=check_at(row[EVENT_TS], "prediction_time"),
            id=row[predictor.population.id],
        )
        for row in picked.to_dict("records")
    ]


def compare_served(
    receipts: list[dict[str, Any]], training_set: pd.DataFrame, id_column: str
) -> tuple[int, int, list[dict[str, Any]]]:
    """(cells compared, cells that differ, a few examples): every served feature value against the
    training set's value for the same row."""
    rows = training_set.set_index(id_column)
    cells = bad = 0
    examples: list[dict[str, Any]] = []
    for receipt in receipts:
        if receipt["id"] not in rows.index:
            bad += len(receipt["features"])
            examples.append({"id": receipt["id"], "problem": "not in the training set"})
            continue
        row = rows.loc[receipt["id"]]
        for column, value in receipt["features"].items():
            cells += 1
            expected = row[column]
            if not same(value, None if pd.isna(expected) else expected):
                bad += 1
                if len(examples) < 5:
                    examples.append(
                        {"id": receipt["id"], "feature": column, "served": value, "training": expected}
                    )
    return cells, bad, examples


def receive(
    project: Project, catalog: Any, store: RawStore, batch: Batch, first: bool
) -> tuple[float, float, float]:
    """What production does when a batch arrives: ingest it, build incrementally (and register the
    definitions the first time), materialize up to its knowledge time. Returns the seconds each
    part took (ingest, build, materialize)."""
    began = time.perf_counter()
    store.ingest_all([(table, batch.frames[table], batch.known) for table in sorted(batch.frames)])
    ingested = time.perf_counter()
    build_feature_tables(catalog, store, project.feature_tables_dir)
    built = time.perf_counter()
    if first:
        registration.apply(project)
    before = time.perf_counter()
    materialize(project, end=batch.known)
    return ingested - began, built - ingested, time.perf_counter() - before


def simulate(
    project: Project,
    every: pd.Timedelta,
    latency: pd.Timedelta,
    start: object | None = None,
    steps: int | None = None,
    run: str | None = None,
    out: str | Path | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> SimulationReport:
    """Replay the project's sources as batches every ``every``, known ``latency`` after each period."""
    run = run or promoted_run(project)
    if run is None:
        raise NotFoundError(
            "featurelock simulate serves a trained run, and none is promoted; train one "
            "(`featurelock train --service S --promote`) or pass --run RUN."
        )
    run_path, record = read_run(project, run)
    batches = timeline(project.sources, every, latency, start, steps)
    folder = scratch_folder(project, out)
    sim = Project(project.root, folder)
    catalog = check_lock(sim)
    shutil.copytree(run_path, sim.runs_dir / record.run_id)
    promote(sim, record.run_id)
    service = project.service(record.service)
    population = _population(sim, catalog.population(service.population), batches, folder / "population-raw")
    store = RawStore(sim.raw_dir, sim.sources)
    log = PredictionLog(log_path(sim.home, "local"))
    predictor: Predictor | None = None
    receipts: list[dict[str, Any]] = []
    done: list[Step] = []
    for i, batch in enumerate(batches):
        _, build_seconds, materialize_seconds = receive(sim, catalog, store, batch, first=i == 0)
        if predictor is None:
            predictor = Predictor.load(sim, record.run_id)
        stop = batches[i + 1].known if i + 1 < len(batches) else None
        requests = due_requests(population, predictor, batch.known, stop)
        served = []
        for at in range(0, len(requests), CHUNK):
            served += predictor.predict(requests[at : at + CHUNK])
        log.append(served)
        receipts += served
        step = Step(batch.known.isoformat(), batch.rows, build_seconds, materialize_seconds, len(served))
        done.append(step)
        progress(
            f"    step {i + 1:>3}  known {step.known}  {step.rows:>9,} rows  "
            f"build {step.build_seconds:6.2f}s  materialize {step.materialize_seconds:6.2f}s  "
            f"served {step.served:>7,}"
        )
    progress("    building the training set with knowledge per row, and with one knowledge time")
    pop = catalog.population(service.population)
    row_set = build_training_set(sim, service.name, knowledge="row").frame
    as_of_set = build_training_set(sim, service.name, knowledge="as-of").frame
    cells, bad, examples = compare_served(receipts, row_set, pop.id)
    _, skew, _ = compare_served(receipts, as_of_set, pop.id)
    progress("    replaying the prediction log, each receipt as known at its time")
    replayed = replay_receipts(sim, receipts, knowledge="row") if receipts else None
    return SimulationReport(
        service=service.name,
        run_id=record.run_id,
        folder=str(folder),
        steps=done,
        served=len(receipts),
        compared_cells=cells,
        mismatches=bad,
        as_of_differences=skew,
        replay_mismatches=replayed.mismatches if replayed is not None else 0,
        examples=examples + (replayed.examples if replayed is not None else []),
    )


def _population(sim: Project, spec: PopulationSpec, batches: list[Batch], folder: Path) -> pd.DataFrame:
    """The population over the whole timeline (what the callers will ask about, in time order)."""
    store = RawStore(folder, sim.sources)
    last = batches[-1].known
    for table in spec.sources:
        frames = [b.frames[table] for b in batches if table in b.frames]
        if frames:
            store.ingest(table, pd.concat(frames, ignore_index=True), last)
    population = build_population(sim, spec, last, store)
    return population.sort_values([EVENT_TS, spec.id], kind="mergesort").reset_index(drop=True)
