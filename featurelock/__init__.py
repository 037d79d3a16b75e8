"""featurelock: the command-line face of the feature store (no logic of its own)."""
