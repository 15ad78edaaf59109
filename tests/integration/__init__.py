"""The in-process app and the store functions on real PostgreSQL and Redis."""
