"""The settings a command or an API call runs with: the store profile, one enum.

A profile chooses the stores (DESIGN.md section 5): ``local`` (DuckDB, SQLite), ``production``
(PostgreSQL, Redis), ``spark`` (Spark offline, SQLite online). It is passed down explicitly as an
argument; the environment (``FEATURELOCK_PROFILE``) is read only where a user sets it: by the
command's options and by a project's ``feature_repo/definitions.py`` under plain ``feast apply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from featurelock.core.errors import ValidationError


class Profile(StrEnum):
    LOCAL = "local"
    PRODUCTION = "production"
    SPARK = "spark"

    @property
    def build_engine(self) -> str:
        """The engine that builds feature tables (production builds with DuckDB, then loads them)."""
        return "spark" if self is Profile.SPARK else "duckdb"


PROFILES = tuple(p.value for p in Profile)


def check_profile(profile: object) -> Profile:
    """The profile named ``profile``, or a one-line refusal listing the valid names."""
    try:
        return Profile(profile)
    except ValueError:
        raise ValidationError(
            f"profile={profile!r} is not a profile; expected one of {list(PROFILES)} "
            "(set it with --profile or FEATURELOCK_PROFILE)."
        ) from None


@dataclass(frozen=True)
class Settings:
    """What a command runs with, resolved once from its options and the environment: the project
    directory (None: found from the working directory up), the store profile, and whether an error
    shows its traceback. Built by the command line; the API takes each as an argument."""

    project: str | None = None
    profile: Profile = Profile.LOCAL
    debug: bool = False
