"""The prediction path shared by the API, parity and replay: online features, request features, model.

``Predictor`` is loaded once (in FastAPI's lifespan): the promoted run's model (hash-verified, skops),
its service, fingerprints and population, and a Feast store whose online store (ours) reads at an
explicit time. Features go into the model by name: the run's recorded column list fixes each
value's position in a plain float64 row.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from featurelock.core.errors import NotFoundError, StoreUnavailableError, ValidationError
from featurelock.core.settings import Profile
from featurelock.features.catalog import Catalog
from featurelock.features.declare import RequestInput, Service
from featurelock.features.feast_repo import feature_store
from featurelock.features.lockfile import check_lock
from featurelock.features.plan import LookedUp, ServicePlan, resolve
from featurelock.features.population import PopulationSpec
from featurelock.features.project import Project
from featurelock.serving.fast_path import FastPredictor
from featurelock.serving.materialize import read_state, state_path
from featurelock.serving.request_memo import RequestFeatures
from featurelock.serving.values import python_value
from featurelock.stores.feast_private import online_store_of
from featurelock.stores.pit import check_at
from featurelock.stores.timed import TimedOnlineStore, timed_store
from featurelock.training.artifacts import load_model
from featurelock.training.encoding import Encoder, encoders
from featurelock.training.entity_rows import Request
from featurelock.training.model import check_model_spec
from featurelock.training.runs import promoted_run, read_run, run_specs

NULL_KEY = ""  # a null key is looked up as "", which no entity has: missing features, as offline
STORED_KEYS_MAX = 65_536  # keys as the online store keeps them, remembered per predictor
MARKS_EVERY_SECONDS = 1.0  # how often serving checks that the online store still holds its writes


@dataclass
class Predictor:
    project: Project
    run_id: str
    plan: ServicePlan  # the run's service, resolved once
    columns: list[str]  # the run's recorded model columns (the model's input order)
    pipeline: Any
    fingerprints: dict[str, str]
    model_sha256: str
    store: Any
    catalog: Catalog
    feature_service: Any
    fast: FastPredictor
    profile: Profile = Profile.LOCAL
    categories: dict[str, list[Any]] = field(default_factory=dict)  # the run's (see training.encoding)
    _marks: tuple[int, datetime | None] | None = None  # (state file mtime, newest mark) cache
    _requested: RequestFeatures | None = None  # the request features' evaluator (built on first use)
    _online: TimedOnlineStore | None = None  # the store's online store (see online_store)
    _stored_keys: Any = None  # (join keys, key) -> the key as the online store keeps it (see stored_key)
    _marks_checked: float = -1.0  # time.monotonic() of the last check that the store holds its writes
    _encoders: dict[str, Encoder] | None = None  # the categories' positions (built on first use)
    _plan: list[tuple[Any, list[str], tuple[str, ...]]] | None = None  # views to read (see _read_plan)

    @property
    def online_store(self) -> TimedOnlineStore:
        """The configured online store, which reads at an explicit time (``TimedOnlineStore``)."""
        if self._online is None:
            self._online = timed_store(online_store_of(self.store))
        return self._online

    @property
    def service(self) -> Service:
        return self.plan.service

    @property
    def population(self) -> PopulationSpec:
        return self.plan.population

    @property
    def keys(self) -> tuple[str, ...]:
        return self.plan.keys

    @property
    def inputs(self) -> Mapping[str, RequestInput]:
        return self.plan.inputs

    @property
    def lookups(self) -> tuple[LookedUp, ...]:
        """Join keys read from another view first (see ``Lookup``)."""
        return self.plan.lookups

    @property
    def feast_columns(self) -> tuple[str, ...]:
        return self.plan.feast_columns

    @property
    def request_columns(self) -> tuple[str, ...]:
        return self.plan.request_columns

    @staticmethod
    def load(
        project: Project,
        run: str | None = None,
        profile: Profile = Profile.LOCAL,
        catalog: Catalog | None = None,
    ) -> Predictor:
        """The run (default: the promoted one) ready to serve; ``catalog``: the caller's, checked
        once (else the lock is checked here)."""
        run = run or promoted_run(project)
        if run is None:
            raise NotFoundError("No run is promoted; train one and run `featurelock promote RUN`.")
        path, record = read_run(project, run)
        if catalog is None:
            catalog = check_lock(project)
        extra = run_specs(path, record)
        trusted = check_model_spec(catalog, record.model_spec, extra).all_trusted_types
        pipeline = load_model(path / "model.skops", record.model_file_sha256, trusted)
        plan = resolve(catalog, record.service)
        fingerprints = record.dataset.feature_fingerprints
        store = feature_store(project, profile)
        online = timed_store(online_store_of(store))  # one that reads at a time, or refused now
        return Predictor(
            project=project,
            run_id=record.run_id,
            plan=plan,
            columns=list(record.feature_columns),
            pipeline=pipeline,
            fingerprints=fingerprints,
            model_sha256=record.model_file_sha256,
            store=store,
            catalog=catalog,
            feature_service=store.get_feature_service(plan.name),
            fast=FastPredictor(pipeline, len(record.feature_columns)),
            profile=profile,
            categories=dict(record.categories),  # runs before categories: numbers only
            _online=online,
        )

    def online_through(self) -> datetime | None:
        """The newest event time materialized into this profile's online store for the service's
        views (None before any materialize). Read from the marks, cached until they change."""
        path = state_path(self.project, self.profile)
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if self._marks is None or self._marks[0] != stamp:
            views = {p.name for p in self.feature_service.feature_view_projections}
            state = read_state(self.project, self.profile)
            ends = [pd.Timestamp(state[v]["end"]).to_pydatetime() for v in sorted(views) if v in state]
            self._marks = (stamp, max(ends) if ends else None)
        return self._marks[1]

    def check_marks(self) -> None:
        """Refuse to serve from an online store that lost what materialize wrote there (a Redis
        restarted empty, a flushed store): each view's mark holds a token that materialize also
        left in the store; one gone means the values are gone, and every answer would be made of
        missing features. Checked at most every ``MARKS_EVERY_SECONDS``."""
        import time

        now = time.monotonic()
        if self._marks_checked >= 0 and now - self._marks_checked < MARKS_EVERY_SECONDS:
            return
        online_store = self.online_store
        state = read_state(self.project, self.profile)
        views = sorted(p.name for p in self.feature_service.feature_view_projections)
        lost = [
            v
            for v in views
            if v in state and online_store.read_marker(self.store.config, v) != state[v].get("token")
        ]
        if lost:
            raise StoreUnavailableError(
                f"The online store lost what materialize wrote for view(s) {lost} (their mark's token "
                "is gone: the server restarted empty, or the store was flushed), so every answer "
                "would be made of missing features. Run `featurelock materialize` to refill it; "
                "serving resumes by itself."
            )
        self._marks_checked = now

    def check_present(self, receipts: list[dict[str, Any]]) -> None:
        """The service's least share of features present (``Service.min_present``), per request."""
        least = self.service.min_present
        if not least:
            return
        for i, receipt in enumerate(receipts):
            total = len(receipt["features"])
            present = total - len(receipt["missing_features"])
            if total and present / total < least:
                raise ValidationError(
                    f"request {i} ({receipt['request']}) has {present} of its {total} features at "
                    f"{receipt['prediction_time']} (service {self.service.name!r} needs at least "
                    f"{least:.0%}); missing: {receipt['missing_features']}. Ask at a time the online "
                    "store holds values for (materialized, within their ttl), or for a known entity."
                )

    def population_flags(self, request: Request) -> list[str]:
        """Reasons a request lies outside the trained population (empty: inside)."""
        return self.population.flags({**request.keys, **request.inputs})

    def _read_plan(self) -> list[tuple[Any, list[str], tuple[str, ...]]]:
        """(feature view, its features in the service, its join keys), resolved once."""
        if self._plan is None:
            plan = []
            for projection in self.feature_service.feature_view_projections:
                view = self.store.get_feature_view(projection.name)
                plan.append(
                    (view, [f.name for f in projection.features], tuple(c.name for c in view.entity_columns))
                )
            self._plan = plan
        return self._plan

    def look_up(self, requests: list[Request]) -> list[Request]:
        """The requests with each looked-up key (``Lookup``) read from the online store at the
        request's prediction time, by the rule every feature is read by (the online half of the
        rule whose offline half is ``entity_rows.with_looked_up_keys``). A request that sent a
        looked-up key must have sent the value found: else it is refused (422) naming both."""
        if not self.lookups:
            return requests
        online_store = self.online_store
        found: list[dict[str, str | None]] = [{} for _ in requests]
        groups: dict[datetime, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.at, []).append(i)
        for lookup in self.lookups:
            view = self.store.get_feature_view(lookup.view)
            for at in sorted(groups):
                index = groups[at]
                wanted = [tuple(requests[i].keys.get(k) or NULL_KEY for k in lookup.by) for i in index]
                distinct = list(dict.fromkeys(wanted))
                stored = [self.stored_key(lookup.by, key) for key in distinct]
                (result,) = online_store.read_stored_views_at(
                    self.store.config, [(view, stored, [lookup.column])], at
                )
                values = {}
                for key, (_, data) in zip(distinct, result, strict=True):
                    value = python_value(data[lookup.column]) if data and lookup.column in data else None
                    values[key] = None if value is None else str(value)
                for i, key in zip(index, wanted, strict=True):
                    found[i][lookup.key] = values[key]
        out = []
        for i, r in enumerate(requests):
            for key, value in found[i].items():
                if key in r.keys and r.keys[key] is not None and r.keys[key] != value:
                    lookup = next(lk for lk in self.lookups if lk.key == key)
                    raise ValidationError(
                        f"request {i} sent {key}={r.keys[key]!r}, but {key} is looked up from "
                        f"{lookup.ref} by {list(lookup.by)} at {r.at.isoformat()}: {value!r}. Leave "
                        f"{key} out (it is looked up), or send the value it has then."
                    )
            out.append(replace(r, keys={**r.keys, **found[i]}))
        return out

    def online(self, requests: list[Request]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
        """Online features for each request at its prediction time: values and event timestamps
        (looked-up keys first: ``look_up``)."""
        return self.read_features(self.look_up(requests))

    def read_features(self, requests: list[Request]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
        """Online features for each request at its prediction time: values and event timestamps.

        Reads go straight to the configured online store (ours: monotonic writes, the point-in-time
        rule at the time passed): every view of the service in one read per prediction time (on
        Redis, one pipeline: one round trip), one entity key per distinct key of a view.
        """
        values: dict[str, list[Any]] = {c: [None] * len(requests) for c in self.feast_columns}
        stamps: dict[str, list[Any]] = {c: [None] * len(requests) for c in self.feast_columns}
        online_store = self.online_store
        plan = self._read_plan()
        groups: dict[datetime, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.at, []).append(i)
        for at in sorted(groups):
            index = groups[at]
            # one read per distinct key of each view (a batch repeats keys), fanned out to the requests
            asked = [requests[i].keys for i in index]
            wanted = [[tuple([ks.get(k) or NULL_KEY for k in keys]) for ks in asked] for _, _, keys in plan]
            distinct = [list(dict.fromkeys(w)) for w in wanted]
            reads = [
                (view, [self.stored_key(keys, key) for key in d], features)
                for (view, features, keys), d in zip(plan, distinct, strict=True)
            ]
            results = online_store.read_stored_views_at(self.store.config, reads, at)
            for (_, features, _), want, d, result in zip(plan, wanted, distinct, results, strict=True):
                for feature in features:
                    found = {  # key -> (value, event time), only for keys holding the feature
                        key: (python_value(data[feature]), event_ts)
                        for key, (event_ts, data) in zip(d, result, strict=True)
                        if data and feature in data
                    }
                    column, column_ts = values[feature], stamps[feature]
                    for j, key in zip(index, want, strict=True):
                        hit = found.get(key)
                        if hit is not None and hit[0] is not None:
                            column[j], column_ts[j] = hit
        return values, stamps

    def stored_key(self, join_keys: tuple[str, ...], key: tuple[str, ...]) -> bytes:
        """One key of a view as the online store keeps it, remembered: least recently used first
        out, in the standard library's C cache (a hit costs ~0.1 us; a batch of 100 looks up ~450)."""
        if self._stored_keys is None:
            self._stored_keys = functools.lru_cache(maxsize=STORED_KEYS_MAX)(self._make_stored_key)
        return self._stored_keys(join_keys, key)

    def _make_stored_key(self, join_keys: tuple[str, ...], key: tuple[str, ...]) -> bytes:
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        entity_key = EntityKey(join_keys=list(join_keys), entity_values=[Value(string_val=v) for v in key])
        return self.online_store.stored_key(self.store.config, entity_key)

    def request_features(self, requests: list[Request]) -> dict[str, list[Any]]:
        """Column -> value per request (None: missing), by the locked functions (see request_memo)."""
        if self._requested is None:
            self._requested = RequestFeatures(list(self.plan.request_features), dict(self.inputs))
        return self._requested.evaluate(requests)

    def matrix(
        self, values: dict[str, list[Any]], request: dict[str, list[Any]], n: int
    ) -> tuple[np.ndarray, list[list[str]]]:
        """One float64 row per request, each value placed by its name's position in the run's
        columns (a categorical one as its category's position: ``training.encoding``), and per
        request the categorical columns whose value no training row had (read as missing)."""
        if self._encoders is None:
            self._encoders = encoders(self.categories)
        x = np.full((n, len(self.columns)), np.nan, dtype=np.float64)
        unseen: list[list[str]] = [[] for _ in range(n)]
        for j, column in enumerate(self.columns):
            col = values[column] if column in values else request[column]
            coder = self._encoders.get(column)
            if coder is None:
                x[:, j] = [np.nan if v is None else float(v) for v in col]
                continue
            for i, v in enumerate(col):
                x[i, j], new = coder.code(v)
                if new:
                    unseen[i].append(column)
        return x, unseen

    def predict(self, requests: list[Request]) -> list[dict[str, Any]]:
        """Probabilities with receipts: enough to replay each prediction offline."""
        self.check_marks()
        looked = self.look_up(requests)
        values, stamps = self.read_features(looked)
        request = self.request_features(requests)
        n = len(requests)
        x, unseen = self.matrix(values, request, n)
        proba = self.fast.predict_proba(x)[:, 1]
        through = self.online_through()
        iso: dict[Any, str | None] = {None: None}  # a batch repeats times: format each once

        def text(moment: Any) -> str | None:
            found = iso.get(moment)
            if found is None and moment is not None:
                found = iso[moment] = moment.isoformat()
            return found

        # the same for every receipt of the call: built once, shared by the receipts
        fingerprints = {ref: self.fingerprints[ref] for ref in self.service.all_refs}
        named = [*self.feast_columns, *self.request_columns]
        rows = _rows([values[c] for c in self.feast_columns] + [request[c] for c in self.request_columns], n)
        stamp_rows = _rows([stamps[c] for c in self.feast_columns], n)
        receipts = []
        for i, r in enumerate(requests):
            row = rows[i]
            flags = self.population_flags(r)
            receipts.append(
                {
                    "id": r.id,
                    "probability": float(proba[i]),
                    "run_id": self.run_id,
                    "feature_service": self.service.name,
                    "fingerprints": fingerprints,
                    "prediction_time": text(r.at),
                    # the online store holds values newer than this request's time: a feature whose
                    # newest value came later is missing here, though offline has an older one
                    "backdated": through is not None and r.at < through,
                    "online_through": text(through),
                    "features": dict(zip(named, row, strict=True)),
                    "event_timestamps": dict(
                        zip(self.feast_columns, [iso.get(t) or text(t) for t in stamp_rows[i]], strict=True)
                    ),
                    "missing_features": [c for c, v in zip(named, row, strict=True) if v is None],
                    "missing_count": sum(v is None for v in row),
                    # categorical values no training row had: read as missing by the model
                    "unseen_categories": unseen[i],
                    "unseen_count": len(unseen[i]),
                    "in_population": not flags,
                    "population_flags": flags,
                    "request": {**r.keys, **{k: _jsonable(v) for k, v in r.inputs.items()}},
                }
            )
            if self.lookups:  # the keys it looked up (receipts of other services keep their form)
                receipts[-1]["looked_up"] = {lk.key: looked[i].keys.get(lk.key) for lk in self.lookups}
        self.check_present(receipts)
        return receipts


def _rows(columns: list[list[Any]], n: int) -> list[tuple[Any, ...]]:
    """Columns of n values each as n row tuples (n empty tuples when there is no column)."""
    return list(zip(*columns, strict=True)) if columns else [()] * n


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value  # pd.Timestamp is a datetime


def request_from_mapping(
    data: dict[str, Any],
    keys: tuple[str, ...],
    inputs: dict[str, RequestInput],
    id_column: str,
    looked_up_keys: tuple[str, ...] = (),
) -> Request:
    """A request given as a mapping (as the API's body): the keys, the inputs, ``prediction_time``
    (required below the API: a read has a time) and, optionally, the row id and looked-up keys
    (``Lookup``: a sent value is checked against the one looked up)."""
    from featurelock.core.errors import ValidationError

    missing = [n for n in (*keys, *inputs, "prediction_time") if n not in data]
    if missing:
        raise ValidationError(
            f"request {data!r} lacks {missing}; give the service's join keys {list(keys)}, its inputs "
            f"{list(inputs)} and prediction_time (ISO 8601 with a UTC offset)."
        )
    sent = {k: data[k] for k in looked_up_keys if data.get(k) is not None}
    return Request(
        keys={**{k: data[k] for k in keys}, **sent},
        inputs={n: data[n] for n in inputs},
        at=check_at(data["prediction_time"], "prediction_time"),  # UTC, checked once here
        id=data.get(id_column),
    )


def request_from_receipt(
    receipt: dict[str, Any], keys: tuple[str, ...], inputs: dict[str, RequestInput]
) -> Request:
    """The request a receipt answered (its echo and prediction time), rebuilt to replay it."""
    data = {**receipt["request"], "prediction_time": receipt["prediction_time"], "id": receipt.get("id")}
    return request_from_mapping(data, keys, inputs, "id")
