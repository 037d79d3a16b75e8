"""Feature versions of the carrier entity, one module each."""
