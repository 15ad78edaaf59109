"""Runs every benchmark in turn, printing a table of figures for each."""

from __future__ import annotations

import sys

BENCHMARKS: list[str] = []


def main() -> int:
    if not BENCHMARKS:
        print("bench: no benchmarks yet; the ingestion benchmark arrives with async ingestion.")
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
