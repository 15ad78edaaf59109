"""`make bench`: the benchmark (bench/run.py); bench/README.md tells how to read it."""

from __future__ import annotations

import sys

from bench.run import main

if __name__ == "__main__":
    sys.exit(main())
