"""The data layer: an append-only, timestamped raw store of the sources a project declares."""
