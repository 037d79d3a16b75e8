"""``featurelock init DIR``: write a new, working project (filled in below)."""
