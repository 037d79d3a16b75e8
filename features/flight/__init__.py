"""Feature versions of the flight entity, one module each."""
