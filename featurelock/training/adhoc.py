"""Ad-hoc estimators: a scikit-learn estimator made in a notebook, trained, recorded, reproduced and
served like a project's declared model specs.

The unfitted estimator is written with the run (``estimator.skops``, hash-verified on load) beside
the skops types it needs, which the caller declares (never ``trusted=True``). Reproduce and serving
rebuild the spec from that file: ``clone`` of the recorded estimator, its ``random_state`` (and that
of every nested estimator) set from the run's seed, then the engine's imputation and encoding.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import skops.io as sio

from featurelock.core.atomic import write_atomic
from featurelock.core.errors import ValidationError
from featurelock.training.artifacts import ArtifactError
from featurelock.training.model import BASE_TRUSTED_TYPES, ModelSpec

PREFIX = "adhoc:"
FILE = "estimator.skops"


def adhoc_name(estimator: Any) -> str:
    kind = type(estimator)
    return f"{PREFIX}{kind.__module__}.{kind.__qualname__}"


def adhoc_spec(estimator: Any, trusted_types: tuple[str, ...] = (), preprocess: str = "impute") -> ModelSpec:
    """A model spec whose factory is a seeded clone of ``estimator`` (hyperparameters via set_params)."""
    from sklearn.base import clone, is_classifier

    if not hasattr(estimator, "get_params") or not is_classifier(estimator):
        raise ValidationError(
            f"estimator={estimator!r} is not a scikit-learn classifier; pass one with fit/predict_proba "
            "(e.g. RandomForestClassifier(...)), or declare a model spec in training/models.py."
        )
    defaults = {k: v for k, v in estimator.get_params(deep=False).items() if k != "random_state"}

    def factory(seed: int, **params: Any) -> Any:
        model = clone(estimator).set_params(**params)
        seeds = {
            k: seed
            for k in model.get_params(deep=True)
            if k == "random_state" or k.endswith("__random_state")
        }
        return model.set_params(**seeds)

    return ModelSpec(
        adhoc_name(estimator),
        factory,
        preprocess,
        tuple(trusted_types),
        "ad-hoc estimator",
        declared_params=tuple(sorted(defaults.items())),
    )


def save_estimator(estimator: Any, folder: Path, trusted_types: tuple[str, ...]) -> dict[str, Any]:
    """Write the unfitted estimator with the run; return what the run records of it."""
    data = sio.dumps(estimator)
    trusted = sorted({*BASE_TRUSTED_TYPES, *trusted_types})
    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in trusted]
    if untrusted:
        raise ArtifactError(
            f"The estimator holds types skops does not trust: {untrusted}. Review them, then pass "
            "trusted_types=(...) naming them."
        )
    write_atomic(folder / FILE, lambda tmp: tmp.write_bytes(data))
    return {
        "name": adhoc_name(estimator),
        "file": FILE,
        "file_sha256": "sha256:" + hashlib.sha256(data).hexdigest(),
        "trusted_types": list(trusted_types),
        "params": {k: repr(v) for k, v in sorted(estimator.get_params(deep=False).items())},
    }


def load_estimator(folder: Path, recorded: dict[str, Any]) -> ModelSpec:
    """The spec of a recorded ad-hoc estimator (its file checked against the recorded hash)."""
    from featurelock.training.artifacts import load_model

    trusted = sorted({*BASE_TRUSTED_TYPES, *recorded["trusted_types"]})
    estimator = load_model(folder / recorded["file"], recorded["file_sha256"], trusted)
    return adhoc_spec(estimator, tuple(recorded["trusted_types"]))
