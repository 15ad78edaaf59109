"""How the accept writer takes batches from what waits: no database, no Redis."""

from __future__ import annotations

from app.services.inbound_accept import AcceptWriter
from tests.helpers.accept_writer import new_entry, put_waiting


async def test_ordered_entries_wait_while_another_batch_holds_some() -> None:
    writer = AcceptWriter(pool=None, redis=None)  # type: ignore[arg-type]
    first, second = new_entry(["inv-1"]), new_entry(["inv-2"])
    plain = [new_entry([]) for _ in range(3)]
    put_waiting(writer, [plain[0], first, plain[1], second, plain[2]])

    batch, ordered = writer._take()
    assert ordered and [e for e, _ in batch] == [plain[0], first, plain[1], second, plain[2]]

    third, fourth = new_entry(["inv-1"]), new_entry(["inv-3"])
    more = new_entry([])
    put_waiting(writer, [third, more, fourth])
    batch, ordered = writer._take()
    assert not ordered and [e for e, _ in batch] == [more]
    assert [e for e, _ in writer._pending] == [third, fourth]

    writer._ordered_in_flight = False  # the first batch committed
    batch, ordered = writer._take()
    assert ordered and [e for e, _ in batch] == [third, fourth]


async def test_batches_stop_at_the_largest_size() -> None:
    writer = AcceptWriter(pool=None, redis=None)  # type: ignore[arg-type]
    entries = [new_entry([]) for _ in range(510)]
    put_waiting(writer, entries)
    batch, _ = writer._take()
    assert [e for e, _ in batch] == entries[:500]
    assert [e for e, _ in writer._pending] == entries[500:]
