"""The project's exception tree. Every error carries the HTTP status the API answers with.

Messages follow scikit-learn's style: what is wrong, what was received, how to fix it.
"""

from __future__ import annotations


class FeaturelockError(Exception):
    """Base of every error featurelock raises on purpose."""

    http_status: int = 500


class ValidationError(FeaturelockError, ValueError):
    """Input that does not satisfy a documented contract (bad batch, bad argument)."""

    http_status = 422


class SchemaError(ValidationError):
    """A batch or frame whose columns, dtypes or keys do not match the declared schema."""


class DefinitionError(FeaturelockError):
    """A feature module, view or service that is malformed (not a lock violation)."""

    http_status = 500


class LockError(FeaturelockError):
    """A feature version that breaks the immutability rule of features.lock."""

    http_status = 409


class NotFoundError(FeaturelockError, LookupError):
    """A named object (feature, service, table, run) that does not exist."""

    http_status = 404


class StoreUnavailableError(FeaturelockError):
    """A store (raw store, online store, database server) that cannot be reached."""

    http_status = 503
