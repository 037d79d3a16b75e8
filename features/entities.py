"""nycflights13's join keys and entities.

In Feast each join key is an entity of its own (``origin``, ``dest``, ``carrier``, ``tailnum``);
the ``route`` entity is the pair (origin, dest); ``flight`` holds request-time features only.
"""

from featurelock import Categorical, Entity, JoinKey, RequestInput

ORIGIN = JoinKey("origin", "Departure airport (FAA code).", max_length=4)
DEST = JoinKey("dest", "Destination airport (FAA code).", max_length=4)
CARRIER = JoinKey("carrier", "Airline (two-letter carrier code).", max_length=3)
TAILNUM = JoinKey("tailnum", "Plane tail number; null when unknown.", nullable=True, max_length=8)

ORIGIN_ENTITY = Entity("origin", ("origin",), "NYC departure airport (FAA code): EWR, JFK or LGA.")
CARRIER_ENTITY = Entity("carrier", ("carrier",), "Airline (two-letter carrier code).")
ROUTE_ENTITY = Entity("route", ("origin", "dest"), "Route: departure and destination airports.")
PLANE_ENTITY = Entity("plane", ("tailnum",), "Plane, by tail number (null for 2,512 flights).")
FLIGHT_ENTITY = Entity("flight", (), "One scheduled flight; request-time features only.")

SCHED_DEP_TIME = RequestInput("sched_dep_time", "timestamp", "Scheduled departure")
DISTANCE = RequestInput("distance", "float", "Route distance in miles", ge=0, le=20_000)

#: Day of week is a category, not a number (a modelling hint; not part of any fingerprint).
CATEGORICAL = Categorical(("sched_dep_dow@v1", "sched_dep_dow@v2"))
