"""Raw sources: declare one ``Source`` per table of your data (none yet).

Example (see ``featurelock init`` without ``--empty`` for a project that runs):

    from featurelock import Source

    VISITS = Source(
        name="visits",
        key="visit_id",                      # one row per key and event time
        columns=(("customer", "string"), ("amount", "float")),
        description="Visits of customers to the shop.",
        load=load_visits,                    # a function returning the initial batch as a DataFrame
    )
"""
