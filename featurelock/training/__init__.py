"""Training: populations, entity rows, point-in-time training sets, model specs, runs, reproduce, lineage."""
