"""`python -m tests.chaos [--short] [--keep]`: the fault suite, its table, and exit status 1 on
any loss, duplicate, order break or undesigned answer."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import tempfile
from dataclasses import replace
from pathlib import Path

from tests.chaos.suite import FULL, SHORT, Runner, print_report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short version (about a minute)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the servers' data and the processes' logs"
    )
    args = parser.parse_args()
    plan = SHORT if args.short else FULL
    if os.environ.get("CHAOS_RATE"):
        plan = replace(plan, rate=float(os.environ["CHAOS_RATE"]))
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-chaos-"))
    # A SIGTERM stops the run as Ctrl-C does: every process and server it started is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    report = asyncio.run(Runner(plan, workdir).run())
    print_report(report)
    if not args.keep and not report.failed:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
