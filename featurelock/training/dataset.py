"""Point-in-time training sets through Feast, canonical and hashed, with a manifest to rebuild them.

``build_training_set(project, service, as_of)``:
1. the service's population as known at ``as_of`` (default: the newest knowledge time in the raw store);
2. ``FeatureStore.get_historical_features(entity_df, features=<feature service>)`` with
   ``featurelock_as_of`` carried in the entity frame (our offline stores refuse a frame without it);
3. canonical form: one row per population row, sorted by the population's id; columns: id,
   prediction timestamp (``event_timestamp``), the join keys, ``label``, the service's features in
   service order, then the request-time features (computed by their own functions from the entity
   rows); dtypes from the definitions;
4. the SHA-256 of the values (``featurelock.core.hashing.frame_sha256``), not of the Parquet bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from featurelock.core.atomic import write_text_atomic
from featurelock.core.errors import ValidationError
from featurelock.core.hashing import frame_sha256
from featurelock.core.settings import Profile
from featurelock.data.schema import CREATED_TS, EVENT_TS
from featurelock.data.store import RawStore, write_parquet
from featurelock.data.validate import check_knowledge_time
from featurelock.features.catalog import Catalog
from featurelock.features.declare import check_knowledge
from featurelock.features.feast_repo import feature_store
from featurelock.features.generations import check_same_generation, current_generation
from featurelock.features.increments import check_built
from featurelock.features.lockfile import check_lock
from featurelock.features.plan import ServicePlan, resolve
from featurelock.features.population import LABEL
from featurelock.features.project import Project
from featurelock.features.spec import PANDAS_DTYPE
from featurelock.training.entity_rows import entity_frame, request_columns, with_looked_up_keys
from featurelock.training.environment import environment, file_sha256
from featurelock.training.population import build_population, population_hash
from featurelock.training.records import MANIFEST_FORMAT, STAGES, Manifest, read_manifest


@dataclass(frozen=True)
class TrainingSet:
    """A training set's rows and its manifest (``Manifest``: what rebuilds it, its content hash)."""

    frame: pd.DataFrame
    manifest: Manifest

    @property
    def sha256(self) -> str:
        return self.manifest.sha256


def resolve_as_of(as_of: object | None, store: RawStore) -> tuple[pd.Timestamp, str]:
    """The as_of to use and where it came from; the newest knowledge time when None. An as_of after
    the newest knowledge time is refused: a batch ingested later could still land before it, and
    the set "as known at" that time would change."""
    asked = check_knowledge_time(as_of, "as_of") if as_of is not None else None
    times = store.knowledge_times()
    if not times:
        raise ValidationError("The raw store is empty; run `featurelock ingest` first.")
    if asked is None:
        return times[-1], "newest knowledge time in the raw store"
    if asked > times[-1]:
        raise ValidationError(
            f"as_of={asked.isoformat()} is after the newest knowledge time in the raw store "
            f"({times[-1].isoformat()}): what is known then is not known yet. Pass an as_of up to "
            f"{times[-1].isoformat()}, or none for the newest."
        )
    return asked, "argument"


def canonicalize(retrieved: pd.DataFrame, population: pd.DataFrame, plan: ServicePlan) -> pd.DataFrame:
    """One row per population row, sorted by id, columns and dtypes fixed by the definitions."""
    pop = plan.population
    ID, TS = pop.id, EVENT_TS
    if len(retrieved) != len(population):
        raise ValidationError(
            f"The offline store returned {len(retrieved)} rows for {len(population)} entity rows; "
            "expected exactly one row per entity row."
        )
    retrieved = retrieved.sort_values(ID, kind="mergesort").reset_index(drop=True)
    population = population.sort_values(ID, kind="mergesort").reset_index(drop=True)
    if not retrieved[ID].equals(population[ID]):
        raise ValidationError("The offline store returned rows that do not match the entity rows one to one.")
    frame = pd.DataFrame({ID: population[ID], TS: population[TS]})
    for key in pop.keys:
        frame[key] = population[key]
    for lookup in plan.lookups:  # looked-up keys, after the population's
        frame[lookup.key] = retrieved[lookup.key].astype(object).where(retrieved[lookup.key].notna(), None)
    frame[LABEL] = population[LABEL].astype("int64")
    for spec in plan.features:
        frame[spec.column] = retrieved[spec.column].astype(PANDAS_DTYPE[spec.dtype])
    for column, values in request_columns(plan, population).items():
        frame[column] = values
    frame[TS] = frame[TS].dt.tz_convert("UTC").dt.as_unit("ns")
    return frame


def feature_table_fingerprints(plan: ServicePlan, folder: Path, as_of: pd.Timestamp) -> dict[str, str]:
    """Content hash of each view's feature table in ``folder`` restricted to rows known at as_of
    (the views of the service's features and of its lookups)."""
    out = {}
    for view in plan.views:
        path = folder / f"{view}.parquet"
        if not path.exists():
            out[view] = "missing"
            continue
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow's errors among them
            from featurelock.stores.duckdb_join import damaged_table

            raise damaged_table(view, str(path)) from exc
        table = table[table[CREATED_TS] <= as_of]
        keys = [c for c in table.columns if not c.endswith(tuple(f"_v{i}" for i in range(1, 100)))]
        table = table.sort_values(keys, kind="mergesort").reset_index(drop=True)
        out[view] = "sha256:" + frame_sha256(table)
    return out


def inputs_of(plan: ServicePlan, catalog: Catalog, as_of: pd.Timestamp, store: RawStore) -> dict[str, Any]:
    """Everything a rebuild depends on, by stage."""
    fingerprints = catalog.fingerprints()
    pop, lookups = plan.population, plan.lookups
    read = [*plan.features, *(catalog.spec(lk.ref) for lk in lookups)]
    tables = sorted({*pop.sources, *(str(s.source) for s in read)})
    inputs: dict[str, Any] = {
        "source data": {
            "raw": {t: "sha256:" + store.fingerprint(t, as_of) for t in tables},
            "feature_tables": feature_table_fingerprints(plan, catalog.project.feature_tables_dir, as_of),
        },
        "feature definitions": {
            "features": [
                {"ref": s.ref, "column": s.column, "fingerprint": fingerprints[s.ref]} for s in plan.features
            ],
            "request_features": [
                {"ref": s.ref, "column": s.column, "fingerprint": fingerprints[s.ref]}
                for s in plan.request_features
            ],
            "features_lock_sha256": file_sha256(catalog.project.lock_file),
        },
        "population": {
            "ref": pop.ref,
            "fingerprint": fingerprints[pop.ref],
            "definition": pop.definition(),
        },
        "environment": environment(catalog.project.root),
    }
    if lookups:  # only then: the manifests of services without lookups keep their form
        inputs["feature definitions"]["lookups"] = [
            {"key": lk.key, "ref": lk.ref, "fingerprint": fingerprints[lk.ref]} for lk in lookups
        ]
    return inputs


def raw_store(project: Project) -> RawStore:
    return RawStore(project.raw_dir, project.sources)


def build_training_set(
    project: Project,
    service: str | ServicePlan,
    as_of: object | None = None,
    profile: Profile = Profile.LOCAL,
    offline: str | None = None,
    threads: int | None = None,
    knowledge: str | None = None,
    catalog: Catalog | None = None,
) -> TrainingSet:
    """Build the canonical training set of ``service`` as known at ``as_of``.

    ``knowledge`` (default: the service's): ``as-of``, or ``row`` to give each row only feature
    rows created at or before its own prediction time (Feast's ``filter_by_created_timestamp``).
    ``catalog`` and a resolved ``service``: the caller's, checked once (else checked here)."""
    if catalog is None:
        catalog = check_lock(project)
    plan = service if isinstance(service, ServicePlan) else resolve(catalog, service)
    mode = plan.knowledge if knowledge is None else check_knowledge(knowledge, "--knowledge")
    store = raw_store(project)
    as_of_ts, as_of_source = resolve_as_of(as_of, store)
    check_built(project.feature_tables_dir, store, as_of_ts)
    population = build_population(project, plan.population, as_of_ts, store)
    entity_df = entity_frame(population, plan.population.keys, as_of_ts, id_column=plan.id)
    generation = current_generation(project.feature_tables_dir)
    fs = feature_store(project, profile, offline=offline, threads=threads)
    entity_df = with_looked_up_keys(fs, entity_df, plan, mode == "row")
    retrieved = fs.get_historical_features(
        entity_df, features=fs.get_feature_service(plan.name), filter_by_created_timestamp=mode == "row"
    ).to_df()
    frame = canonicalize(retrieved, population, plan)
    inputs = inputs_of(plan, catalog, as_of_ts, store)
    check_same_generation(project.feature_tables_dir, generation)
    manifest = Manifest(
        format=MANIFEST_FORMAT,
        project=project.name,
        service=plan.name,
        as_of=as_of_ts.isoformat(),
        as_of_source=as_of_source,
        knowledge=mode,
        feature_generation=generation,
        inputs=inputs,
        population_rows_sha256=population_hash(population),
        rows=len(frame),
        columns={c: str(frame[c].dtype) for c in frame.columns},
        content_sha256="sha256:" + frame_sha256(frame),
    )
    return TrainingSet(frame, manifest)


def write_training_set(project: Project, training_set: TrainingSet, out_dir: Path | None = None) -> Path:
    """Write ``training_set.parquet`` and ``manifest.json`` (sorted keys) atomically; return the folder."""
    m = training_set.manifest
    out_dir = out_dir or project.home / "datasets" / f"{m.service}-{m.sha256[7:19]}"
    out_dir = Path(out_dir)
    write_parquet(training_set.frame, out_dir / "training_set.parquet")
    write_text_atomic(out_dir / "manifest.json", m.text())
    return out_dir


def knowledge_of(manifest: Manifest) -> str:
    """The knowledge mode a manifest was built with (manifests written before modes: ``as-of``)."""
    return check_knowledge(manifest.knowledge, "manifest knowledge")


@dataclass(frozen=True)
class Verification:
    identical: bool
    expected_sha256: str
    actual_sha256: str | None
    diverged: list[tuple[str, str]]  # (stage, what changed)


def diff_inputs(stage: str, old: Any, new: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += diff_inputs(stage, old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return out
    if old != new:
        return [(stage, f"{path}: {old!r} -> {new!r}")]
    return []


def verify_training_set(
    project: Project, manifest_path: Path, profile: Profile = Profile.LOCAL
) -> Verification:
    """Rebuild from the manifest; identical, or the stages whose inputs changed."""
    manifest = read_manifest(manifest_path)
    mode = knowledge_of(manifest)
    rebuilt = build_training_set(
        project, manifest.service, as_of=manifest.as_of, profile=profile, knowledge=mode
    )
    diverged = []
    for stage in STAGES:
        diverged += diff_inputs(stage, manifest.stage(stage), rebuilt.manifest.stage(stage))
    if manifest.population_rows_sha256 != rebuilt.manifest.population_rows_sha256 and not any(
        s == "population" for s, _ in diverged
    ):
        diverged.append(("population", "population rows changed (same definition): check the source data"))
    return Verification(
        identical=rebuilt.sha256 == manifest.sha256,
        expected_sha256=manifest.sha256,
        actual_sha256=rebuilt.sha256,
        diverged=diverged,
    )
