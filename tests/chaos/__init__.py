"""The fault suite: real OrderHub processes on private servers under a steady stream of async
orders, faults injected in turn, then every accepted order reconciled against the database and
the SOM/TOM stub's record. `make chaos` runs it whole (`python -m tests.chaos`); the short
version runs under pytest (tests/chaos/test_short.py)."""
