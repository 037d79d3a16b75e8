"""Feast definitions, generated from this project's declarations (the lock is checked first)."""

from pathlib import Path

from featurelock.features.registration import feast_definitions

globals().update(feast_definitions(Path(__file__).resolve().parents[1]))
