"""Segments the run report breaks holdout metrics down by."""

from featurelock import Segment

BY_MONTH = Segment("snapshot month", "event_timestamp", part="month")
