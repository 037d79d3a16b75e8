"""The scoring layer: scikit-learn pipelines built from a project's model specs, fed by feature name.

- A **model spec** is a factory ``f(seed, **params) -> estimator`` decorated with ``@model_spec``;
  its keyword defaults are the default hyperparameters, and it declares the skops types its
  fitted model holds beyond skops' defaults (pinned in code, never ``trusted=True``).
- Features are selected **by name** (the service's order, then request features) into a float64
  matrix before the pipeline, whose column transformer refers to positions in that order;
  reordering the input frame's columns cannot change a prediction. A categorical feature enters
  as its category's position, the categories fixed by the training rows (``encoding``).
- With ``preprocess="impute"`` (or ``"impute_scale"``) the engine wraps the estimator: median
  imputation with missing-value indicators (and scaling) for numbers, most-frequent imputation and
  one-hot encoding for the features the definitions mark categorical, all fitted on training rows
  only. With ``preprocess="none"`` the factory returns the whole pipeline itself and receives
  ``categorical`` (the positions of categorical columns) as a keyword.
- Every random component takes ``random_state`` from the run config.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from featurelock.core.errors import DefinitionError, NotFoundError, ValidationError
from featurelock.features.catalog import Catalog
from featurelock.features.declare import check_knowledge
from featurelock.features.plan import resolve
from featurelock.training.encoding import Categories, fit_categories, model_input

PREPROCESS = ("impute", "impute_scale", "none")
#: Types every featurelock pipeline may hold beyond skops' defaults (its own preprocessing).
BASE_TRUSTED_TYPES = ("numpy.dtype",)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    factory: Callable[..., Any] = field(compare=False, repr=False)
    preprocess: str = "impute"
    trusted_types: tuple[str, ...] = ()
    description: str = ""
    #: Hyperparameters when the factory's signature does not list them (an ad-hoc estimator's).
    declared_params: tuple[tuple[str, Any], ...] | None = field(default=None, compare=False)

    def defaults(self) -> dict[str, Any]:
        """The factory's keyword defaults: the spec's default hyperparameters."""
        if self.declared_params is not None:
            return dict(self.declared_params)
        params = inspect.signature(self.factory).parameters
        return {
            n: p.default
            for n, p in params.items()
            if p.default is not inspect.Parameter.empty and n not in ("seed", "categorical")
        }

    @property
    def all_trusted_types(self) -> list[str]:
        return sorted({*BASE_TRUSTED_TYPES, *self.trusted_types})


def model_spec(
    *, preprocess: str = "impute", trusted_types: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a model spec: ``f(seed, **params)`` returning a scikit-learn estimator (or pipeline).

    Parameters
    ----------
    preprocess : str
        ``impute`` (default: median imputation with indicators for numbers; categorical features
        one-hot or ordinal, see ``featurelock.training.encoding``), ``impute_scale`` (also
        scaled), or ``none`` (the factory returns the whole pipeline and receives ``categorical``,
        the positions of the categorical columns).
    trusted_types : tuple of str
        The skops types the fitted model holds beyond skops' defaults (pinned, never
        ``trusted=True``), e.g. ``("sklearn.tree._tree.Tree",)``.
    """

    def wrap(factory: Callable[..., Any]) -> Callable[..., Any]:
        if preprocess not in PREPROCESS:
            raise DefinitionError(
                f"model spec {factory.__name__}: preprocess={preprocess!r}; expected one of {PREPROCESS}."
            )
        if "seed" not in inspect.signature(factory).parameters:
            raise DefinitionError(
                f"model spec {factory.__name__}: the factory takes no `seed`; every random component "
                "must be seeded from the run (def f(seed, **params))."
            )
        doc = (factory.__doc__ or "").strip()
        factory.__featurelock__ = ModelSpec(  # type: ignore[attr-defined]
            factory.__name__, factory, preprocess, tuple(trusted_types), doc.splitlines()[0] if doc else ""
        )
        return factory

    return wrap


def model_specs(catalog: Catalog) -> dict[str, ModelSpec]:
    return catalog.project.declared(ModelSpec)


def check_model_spec(catalog: Catalog, name: str, extra: Mapping[str, ModelSpec] | None = None) -> ModelSpec:
    """The project's spec ``name``, or one of ``extra`` (an ad-hoc estimator's)."""
    if extra and name in extra:
        return extra[name]
    specs = model_specs(catalog)
    if name not in specs:
        raise NotFoundError(
            f"model={name!r} is not a model spec of project {catalog.project.name!r}; expected one of "
            f"{sorted(specs)} (declare one with @model_spec in training/)."
        )
    return specs[name]


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run besides its data. ``None`` = the service's choice."""

    service: str
    model: str | None = None
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    baseline: str | None = None
    baseline_params: dict[str, Any] = field(default_factory=dict)
    holdout_from: str | None = None  # prediction times from here on are held out
    as_of: str | None = None
    knowledge: str | None = None  # "as-of" or "row" (see Service.knowledge)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> RunConfig:
        return RunConfig(**data)


def check_config(
    catalog: Catalog, config: RunConfig, extra: Mapping[str, ModelSpec] | None = None
) -> RunConfig:
    """The config with every choice made explicit (what the run records and reproduce replays)."""
    service = catalog.project.service(config.service)
    resolved = RunConfig(
        service=service.name,
        model=config.model or service.model,
        seed=service.seed if config.seed is None else int(config.seed),
        params=dict(config.params),
        baseline=config.baseline or service.baseline,
        baseline_params=dict(config.baseline_params),
        holdout_from=config.holdout_from or service.holdout_from,
        as_of=config.as_of,
        knowledge=service.knowledge if config.knowledge is None else check_knowledge(config.knowledge),
    )
    for name, params in ((resolved.model, resolved.params), (resolved.baseline, resolved.baseline_params)):
        spec = check_model_spec(catalog, str(name), extra)
        unknown = sorted(set(params) - set(spec.defaults()))
        if unknown and (spec.declared_params is not None or not _takes_kwargs(spec.factory)):
            raise ValidationError(
                f"params {unknown} are not hyperparameters of model spec {name!r}; "
                f"it takes {sorted(spec.defaults())}."
            )
    try:
        pd.Timestamp(resolved.holdout_from).tz_convert("UTC")
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"holdout_from={resolved.holdout_from!r} is not a timezone-aware timestamp; "
            "use e.g. '2024-03-01T00:00:00+00:00'."
        ) from exc
    return resolved


def _takes_kwargs(factory: Callable[..., Any]) -> bool:
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(factory).parameters.values()
    )


def feature_columns(catalog: Catalog, service: str) -> list[str]:
    """The model's inputs, by name: the service's features in order, then its request features."""
    return resolve(catalog, service).model_columns


def categorical_columns(catalog: Catalog, service: str) -> dict[str, str]:
    """The service's categorical columns and their encodings (``"onehot"`` or ``"ordinal"``)."""
    return dict(resolve(catalog, service).encodings)


def make_pipeline(
    spec: ModelSpec, params: dict[str, Any], seed: int, columns: list[str], categorical: Mapping[str, str]
) -> Any:
    """``categorical``: column -> encoding. One-hot columns go through the categorical branch;
    ordinal ones (their categories' positions) through the numeric one."""
    cat_idx = [i for i, c in enumerate(columns) if categorical.get(c) == "onehot"]
    num_idx = [i for i, c in enumerate(columns) if categorical.get(c) != "onehot"]
    # an ad-hoc estimator carries its own values: only overrides are set (never shared nested objects)
    merged = dict(params) if spec.declared_params is not None else {**spec.defaults(), **params}
    if spec.preprocess == "none":
        every = [i for i, c in enumerate(columns) if c in categorical]
        return _built(spec, merged, lambda: spec.factory(seed=seed, categorical=every, **merged))
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median", add_indicator=True))]
    if spec.preprocess == "impute_scale":
        numeric_steps.append(("scale", StandardScaler()))
    prep = ColumnTransformer(
        [
            ("num", Pipeline(numeric_steps), num_idx),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                cat_idx,
            ),
        ],
        remainder="drop",
    )
    return Pipeline(
        [("prepare", prep), ("model", _built(spec, merged, lambda: spec.factory(seed=seed, **merged)))]
    )


def _built(spec: ModelSpec, params: dict[str, Any], make: Callable[[], Any]) -> Any:
    """The spec's estimator; hyperparameters its factory (or scikit-learn) refuses, in one line."""
    try:
        estimator = make()
    except (TypeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ValidationError(
            f"params {params!r} are not accepted by model spec {spec.name!r} ({first}); "
            f"it takes {sorted(spec.defaults())}."
        ) from exc
    return estimator


def split(frame: pd.DataFrame, holdout_from: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time-based split on the prediction timestamp: train before ``holdout_from``, hold out after."""
    cut = pd.Timestamp(holdout_from).tz_convert("UTC")
    late = frame["event_timestamp"] >= cut
    train, holdout = frame[~late].reset_index(drop=True), frame[late].reset_index(drop=True)
    if train.empty or holdout.empty:
        raise ValidationError(
            f"holdout_from={holdout_from!r} leaves {len(train)} training and {len(holdout)} holdout rows; "
            "pick a time inside the data."
        )
    return train, holdout


def training_categories(catalog: Catalog, service: str, train: pd.DataFrame) -> dict[str, list[Any]]:
    """The categories of the service's categorical columns, fixed by the training rows (recorded in
    the run; see ``encoding``)."""
    return fit_categories(train, categorical_columns(catalog, service))


def fit(
    catalog: Catalog,
    config: RunConfig,
    train: pd.DataFrame,
    which: str = "model",
    extra: Mapping[str, ModelSpec] | None = None,
    categories: Categories | None = None,
) -> Any:
    """Fit the model (or baseline) on ``train``; ``categories`` as ``training_categories`` gives."""
    columns = feature_columns(catalog, config.service)
    name, params = (
        (config.model, config.params) if which == "model" else (config.baseline, config.baseline_params)
    )
    spec = check_model_spec(catalog, str(name), extra)
    pipeline = make_pipeline(
        spec, params, int(config.seed or 0), columns, categorical_columns(catalog, config.service)
    )
    pipeline.fit(model_input(train, columns, categories), train["label"].to_numpy())
    return pipeline


def predict(
    pipeline: Any, frame: pd.DataFrame, columns: list[str], categories: Categories | None = None
) -> np.ndarray:
    """P(label = 1) for each row, features taken by name."""
    return pipeline.predict_proba(model_input(frame, columns, categories))[:, 1]
