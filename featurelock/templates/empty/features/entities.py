"""Join keys and entities (none yet): a feature describes an entity, found by its join keys.

Example:

    from featurelock import Entity, JoinKey

    CUSTOMER = JoinKey("customer", "Customer id.", max_length=16)
    CUSTOMER_ENTITY = Entity("customer", ("customer",), "A customer of the shop.")
"""
