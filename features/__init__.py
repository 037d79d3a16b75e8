"""Data layer and feature layer: raw sources, versioned feature modules, fingerprints, the lock."""
