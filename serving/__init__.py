"""Serving layer: materialization, the prediction service, online/offline parity, replay."""
