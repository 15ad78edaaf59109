"""Benchmarks: `make bench` runs `python -m bench`.

The modules follow the run's order: config, servers, body, profiling, ingest, ceiling, drain,
report, and run, which puts them together.
"""
