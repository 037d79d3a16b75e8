"""Our Feast stores (DuckDB and PostgreSQL offline, SQLite and Redis online), the one
point-in-time rule, and the one adapter to Feast's private API."""
