"""Feature versions of the origin entity, one module each."""
