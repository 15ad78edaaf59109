"""The scenarios, run in turn under one stream, and the table they end in.

After each fault the suite waits, bounded, until every order accepted before the fault ended is
final (or can no longer become so: its entry failed or its outbound request was given up); that
wait is the scenario's time to recover. Then the next scenario starts, the stream still running.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from tests.chaos.reconcile import Outcome, gather_facts, reconcile
from tests.chaos.stack import Stack
from tests.chaos.traffic import Sent, Stream, statuses

BASE_FAIL_RATE = 0.05  # sends the stub answers 500 at any time, retried by OrderHub


@dataclass(frozen=True)
class Plan:
    rate: float  # orders a second
    warm_up: float  # seconds of stream before the first fault
    worker_kills: int
    api_kills: int
    pg_cut: float  # seconds
    stub_down: float
    stub_slow: float  # seconds of slow answers and 500s
    stub_timeouts: float  # seconds of answers slower than OrderHub's outbound timeout
    settle: float  # the longest wait for recovery after one scenario
    final: float  # the longest wait for everything at the end


FULL = Plan(
    rate=8,
    warm_up=5,
    worker_kills=3,
    api_kills=2,
    pg_cut=10,
    stub_down=30,
    stub_slow=20,
    stub_timeouts=8,
    settle=60,
    final=60,
)
SHORT = Plan(
    rate=5,
    warm_up=2,
    worker_kills=1,
    api_kills=1,
    pg_cut=3,
    stub_down=0,
    stub_slow=0,
    stub_timeouts=0,
    settle=50,
    final=50,
)


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} chaos: {text}", file=sys.stderr, flush=True)


@dataclass
class Row:
    scenario: str
    outcome: Outcome
    answers: Counter[str]
    bad_503: int
    recovered: float | None  # seconds; None: not within the plan's settle


@dataclass
class Report:
    rows: list[Row]
    exits: list[str]
    skipped: int
    log_dir: Path
    findings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Any loss, duplicate, order break, undesigned answer, or process that exited
        unbidden (a worker must outlive a Redis or PostgreSQL restart)."""
        return bool(self.exits) or any(
            r.outcome.lost
            or r.outcome.duplicated
            or r.outcome.out_of_order
            or r.bad_503
            or self.other_5xx(r)
            for r in self.rows
        )

    @staticmethod
    def other_5xx(row: Row) -> int:
        return sum(
            n for status, n in row.answers.items() if status.startswith("5") and status != "503"
        )

    def table(self) -> str:
        lines = [TABLE_HEAD]
        for r in self.rows:
            o = r.outcome
            recovered = "-" if r.recovered is None else f"{r.recovered:.1f} s"
            counts = [
                o.sent,
                o.accepted,
                len(o.lost),
                len(o.duplicated),
                len(o.out_of_order),
                o.unconfirmed,
                r.answers["503"],
                self.other_5xx(r),
                r.bad_503,
                r.answers["timeout"],
                r.answers["no answer"],
                o.repeats,
                o.failed_sends,
            ]
            lines.append((r.scenario, *map(str, counts), recovered))
        widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_HEAD))]
        return "\n".join(
            "  ".join(
                cell.rjust(width) if i else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(line, widths, strict=True))
            )
            for line in lines
        )


TABLE_HEAD = (
    "scenario",
    "sent",
    "accepted",
    "lost",
    "duplicated",
    "out of order",
    "unconfirmed",
    "503",
    "other 5xx",
    "bad 503",
    "timeouts",
    "no answer",
    "stub repeats",
    "stub 500s",
    "recovered in",
)


class Runner:
    def __init__(self, plan: Plan, workdir: Path) -> None:
        self.plan = plan
        self.stack = Stack(workdir)
        self.stream: Stream | None = None
        self.recovered: dict[str, float | None] = {}
        self._lock = asyncio.Lock()  # faults and the supervisor never act at once
        self._supervising = True

    async def act(self, what: Callable[[], object]) -> None:
        async with self._lock:
            await asyncio.to_thread(what)

    async def supervise(self) -> None:
        while self._supervising:
            scenario = self.stream.scenario if self.stream else "start"
            await self.act(lambda scenario=scenario: self.stack.supervise(scenario))
            await asyncio.sleep(0.5)  # how often the supervisor looks

    async def run(self) -> Report:
        say(f"starting servers and processes in {self.stack.workdir}")
        try:
            await asyncio.to_thread(self.stack.start)
            self.stack.configure_stub(failRate=BASE_FAIL_RATE)
            return await self._run()
        finally:
            self._supervising = False
            say("stopping everything")
            await asyncio.to_thread(self.stack.stop)

    async def _run(self) -> Report:
        stream = self.stream = Stream(self.stack.api_urls, self.plan.rate)
        streaming = asyncio.create_task(stream.run())
        supervisor = asyncio.create_task(self.supervise())
        try:
            await self._scenario("warm-up", self._warm_up)
            for name, fault in self.scenarios():
                await self._scenario(name, fault)
        finally:
            stream.stop()
            await streaming
        stream.scenario = "end"
        say(f"stream stopped after {len(stream.sent)} orders; waiting for the rest")
        await self.settle(time.time(), self.plan.final, None)
        self._supervising = False
        await supervisor
        return await self.report(stream)

    def scenarios(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        plan = self.plan
        found = [
            ("a worker SIGKILL", self._kill_workers),
            ("b API SIGKILL", self._kill_apis),
            ("c Redis emptied", self._empty_redis),
            ("d PG restart", self._restart_postgres),
            ("d PG cut", self._cut_postgres),
            ("e stub down", self._stub_down),
            ("f stub slow, 500s", self._stub_slow),
        ]
        if not plan.stub_down:
            found = [f for f in found if not f[0].startswith("e ")]
        if not plan.stub_slow:
            found = [f for f in found if not f[0].startswith("f ")]
        return found

    async def _scenario(self, name: str, fault: Callable[[], Awaitable[None]]) -> None:
        assert self.stream is not None
        self.stream.scenario = name
        say(f"{name}: begins")
        await fault()
        ended = time.time()
        say(f"{name}: fault over; waiting for recovery")
        self.recovered[name] = await self.settle(ended, self.plan.settle, name)
        say(f"{name}: recovered in {self.recovered[name]}")

    async def pause(self, seconds: float) -> None:
        """A fault's own length (or the stream's time between faults), not a wait for a
        process."""
        await asyncio.sleep(seconds)

    # --- the faults --------------------------------------------------------------------------

    async def _warm_up(self) -> None:
        await self.pause(self.plan.warm_up)

    async def _kill_workers(self) -> None:
        for n in range(self.plan.worker_kills):
            name = self.stack.workers()[n % len(self.stack.workers())]
            await self.act(lambda name=name: self.stack.kill(name))
            say(f"SIGKILLed {name}")
            await self.pause(1)
            await self.act(lambda name=name: self.stack.launch(name))
            await self.pause(3)

    async def _kill_apis(self) -> None:
        for n in range(self.plan.api_kills):
            name = self.stack.apis()[n % len(self.stack.apis())]
            await self.act(lambda name=name: self.stack.kill(name))
            say(f"SIGKILLed {name}")
            await self.pause(1)
            await self.act(lambda name=name: self.stack.launch(name))
            await self.pause(3)

    async def _empty_redis(self) -> None:
        await self.act(self.stack.restart_redis_empty)
        await self.pause(2)

    async def _restart_postgres(self) -> None:
        await self.act(self.stack.restart_postgres)
        await self.pause(2)

    async def _cut_postgres(self) -> None:
        await self.act(self.stack.pg_proxy.cut)
        await self.pause(self.plan.pg_cut)
        await self.act(self.stack.pg_proxy.restore)

    async def _stub_down(self) -> None:
        def cut() -> None:
            self.stack.stub_proxy.cut()
            self.stack.callback_proxy.cut()

        def restore() -> None:
            self.stack.stub_proxy.restore()
            self.stack.callback_proxy.restore()

        await self.act(cut)
        await self.pause(self.plan.stub_down)
        await self.act(restore)

    async def _stub_slow(self) -> None:
        configure = self.stack.configure_stub
        await self.act(lambda: configure(mode="slow", slowSeconds=2, failRate=0.3))
        await self.pause(self.plan.stub_slow)
        if self.plan.stub_timeouts:
            # Slower than OrderHub's outbound timeout: the stub accepts what OrderHub gave up
            # waiting for, and the retry is a repeat it drops by Request ID.
            await self.act(lambda: configure(slowSeconds=6, failRate=0))
            await self.pause(self.plan.stub_timeouts)
        await self.act(lambda: configure(mode="normal", failRate=BASE_FAIL_RATE))

    # --- recovery and the report -------------------------------------------------------------

    async def settle(self, ended: float, within: float, scenario: str | None) -> float | None:
        """Seconds from `ended` until every order of `scenario` (None: every order) first sent
        before it has had its last attempt and, if accepted, is final or can no longer become
        final; None if that did not happen within `within` seconds. An order stuck in an
        earlier scenario is that one's finding, and does not hold up the measure of the next."""
        assert self.stream is not None
        deadline = time.monotonic() + within
        conn = None
        try:
            while time.monotonic() < deadline:
                mine = [
                    s
                    for s in self.stream.sent
                    if s.first_sent and s.first_sent <= ended and scenario in (None, s.scenario)
                ]
                ids = [s.order_id for s in mine if s.order_id]
                try:
                    if conn is None:
                        conn = await asyncpg.connect(self.stack.database_url, timeout=5)
                    if all(s.done for s in mine) and await settled(conn, ids):
                        return time.time() - ended
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    conn = None  # the server restarted: a new connection next time
                await asyncio.sleep(0.5)  # how often recovery is checked
            return None
        finally:
            if conn is not None:
                await conn.close()

    async def report(self, stream: Stream) -> Report:
        prefix = stream.sent[0].external_id.rsplit("-", 1)[0] if stream.sent else "none"
        # The database first: whatever it says was sent, the stub has had by the time it is
        # asked, even if sends go on in between.
        facts = await gather_facts(self.stack.database_url, prefix)
        facts.stub = await asyncio.to_thread(self.stack.stub_received)
        outcomes = reconcile(stream.sent, facts)
        rows = []
        for name in [*self.recovered, "end"]:
            sent = [s for s in stream.sent if s.scenario == name]
            if not sent and name == "end":
                continue
            bad = sum(1 for s in sent for a in s.attempts if a.status == 503 and a.problem)
            rows.append(Row(name, outcomes[name], statuses(sent), bad, self.recovered.get(name)))
        report = Report(rows, self.stack.exits, stream.skipped, self.stack.log_dir)
        report.findings = findings(rows, stream.sent)
        return report


async def settled(conn: asyncpg.Connection, ids: list[str]) -> bool:  # type: ignore[type-arg]
    """Every one of `ids` is final, or can no longer become final."""
    waiting: int = await conn.fetchval(
        """
        SELECT count(*) FROM unnest($1::text[]) AS a(id)
         WHERE NOT EXISTS (
               SELECT 1 FROM inbound_processed p WHERE p.id = a.id AND p.state = 'error')
           AND NOT EXISTS (SELECT 1 FROM outbound_failure f WHERE f.order_id = a.id AND f.given_up)
           AND NOT EXISTS (
               SELECT 1 FROM service_order so
                WHERE so.sys_id = a.id AND so.state IN ('completed', 'error')
                  AND EXISTS (SELECT 1 FROM outbound_request r WHERE r.source_record = so.sys_id)
                  AND NOT EXISTS (
                      SELECT 1 FROM outbound_request r
                       WHERE r.source_record = so.sys_id AND r.state NOT IN ('fulfilled', 'error')))
        """,
        ids,
    )
    return waiting == 0


def findings(rows: list[Row], sent: list[Sent]) -> list[str]:
    """Each loss, duplicate and order break by cause (a few examples each), and every answer
    that was not designed."""
    found = []
    for row in rows:
        for label, items in (
            ("lost", row.outcome.lost),
            ("duplicated", row.outcome.duplicated),
            ("out of order", row.outcome.out_of_order),
        ):
            causes = Counter(item.split(": ", 1)[-1] for item in items)
            for cause, count in causes.most_common():
                example = next(i for i in items if i.endswith(cause))
                found.append(
                    f"{row.scenario}: {count} {label}: {cause} (e.g. {example.split(':')[0]})"
                )
    problems = Counter(
        (s.scenario, a.problem)
        for s in sent
        for a in s.attempts
        if a.problem and (a.status is not None or a.problem == "timeout")
    )
    for (scenario, problem), count in problems.most_common():
        found.append(f"{scenario}: {count} answers: {problem}")
    return found


def print_report(report: Report) -> None:
    print()
    print(report.table())
    print()
    if report.skipped:
        print(f"stream ticks skipped with too many orders unanswered: {report.skipped}")
    for line in report.exits:
        print(f"process exit: {line}")
    for line in report.findings:
        print(f"finding: {line}")
    print(f"logs: {report.log_dir}")
    print("FAILED: loss, duplicates or undesigned answers" if report.failed else "OK")
