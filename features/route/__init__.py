"""Feature versions of the route entity, one module each."""
