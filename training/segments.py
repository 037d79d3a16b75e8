"""Segments the run report breaks holdout metrics down by (a modelling view; no value changes)."""

from featurelock import Segment

BY_ORIGIN = Segment("origin", "origin")
BY_MONTH = Segment("month", "event_timestamp", part="month", timezone="America/New_York")
