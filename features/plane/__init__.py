"""Feature versions of the plane entity, one module each."""
