"""Benchmarks: `make bench` runs `python -m bench`, phases chosen with BENCH_PHASES.

bench/run.py puts the phases together in their order (ingest, ceiling, capacity, latency,
drain, memory, reads); bench/README.md lists the modules, the knobs and what every figure
means.
"""
