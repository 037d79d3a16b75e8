"""Serving layer: materialization, prediction API, parity (issue 5)."""
