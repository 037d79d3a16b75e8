"""Serving: the API generated from a service, the predictor, materialization, parity, replay,
the prediction log."""
