"""The feature layer: project loading, declarations, catalog, fingerprints, the lock, feature
tables, Feast registration."""
