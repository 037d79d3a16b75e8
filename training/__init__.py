"""Training layer: population, point-in-time training sets, models, reproduce (issues 3-4)."""
