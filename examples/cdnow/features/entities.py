"""CDNOW's join key and entity: the customer."""

from featurelock import Entity, JoinKey

CUSTOMER = JoinKey("customer", "CDNOW customer id (five digits, e.g. 00001).", max_length=8)
CUSTOMER_ENTITY = Entity("customer", ("customer",), "A CDNOW customer.")
