"""Feast definitions, generated from features/ when Feast imports this file.

Importing it checks features.lock first: an edited, deleted or unlocked feature version makes
``feast apply`` / ``feast plan`` fail before anything reaches the registry.
"""

from features.registration import feast_definitions

globals().update(feast_definitions())
