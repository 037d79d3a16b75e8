"""Base of the engine: errors, atomic writes, value hashing and the data-directory rule."""
