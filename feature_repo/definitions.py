"""Feast definitions, generated from this project's declarations when Feast imports this file.

Importing it checks features.lock first: an edited, deleted or unlocked version makes
``feast apply`` / ``feast plan`` fail before anything reaches the registry.
"""

from pathlib import Path

from featurelock.features.registration import feast_definitions

globals().update(feast_definitions(Path(__file__).resolve().parents[1]))
