"""How an import sends its rows: batches, how many in flight, order, the report. The
campaign service is replaced by a fake of our own port (the gateway's Bus)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from telecast_gateway.contact_import import ContactImport, EmptyImport, run_import
from telecast_gateway.contact_rows import CsvRows
from telecast_libs.contracts.contacts import (
    BatchUpserted,
    ContactInput,
    ImportContactsBatch,
    RowError,
)
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.messages import Actor, CommandMeta

META = CommandMeta(actor=Actor(id="tester"), correlation_id="c")


class FakeAudience:
    """Answers import batches after ``delay`` seconds, recording what overlapped."""

    def __init__(self, delay: float = 0.01, fail_on: int | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.batches: list[list[int]] = []
        self.running = 0
        self.most_running = 0
        self.overlapping_ids = False
        self._in_flight: list[set[int]] = []
        self.known: set[int] = set()

    async def audience(self, request, answer, *, write, timeout=None):
        assert isinstance(request, ImportContactsBatch) and write and answer is BatchUpserted
        ids = {row.telegram_id for row in request.rows}
        self.overlapping_ids |= any(ids & other for other in self._in_flight)
        number = len(self.batches)
        self.batches.append([row.telegram_id for row in request.rows])
        self._in_flight.append(ids)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await asyncio.sleep(self.delay)
            if number == self.fail_on:
                raise Problem("the campaign service is not running", code="SERVICE_UNAVAILABLE")
            created = len(ids - self.known)
            self.known |= ids
            return BatchUpserted(created=created, updated=len(request.rows) - created)
        finally:
            self.running -= 1
            self._in_flight.remove(ids)


def _rows(*ids: int) -> list[ContactInput | RowError]:
    return [ContactInput(telegram_id=i) for i in ids]


async def test_batches_fill_and_at_most_two_are_in_flight() -> None:
    bus = FakeAudience()
    contacts = ContactImport(bus, META, batch_rows=3)  # type: ignore[arg-type]
    await contacts.add(_rows(*range(10)))
    await contacts.add([RowError(row=12, reason="bad")])
    report = await contacts.finish()
    assert bus.batches == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert bus.most_running == 2
    assert (report.created, report.updated, report.rejected) == (10, 0, 1)
    assert report.errors == [RowError(row=12, reason="bad")]
    assert report.errors_truncated is False


async def test_a_batch_sharing_ids_with_one_in_flight_waits_for_it() -> None:
    bus = FakeAudience()
    contacts = ContactImport(bus, META, batch_rows=2)  # type: ignore[arg-type]
    await contacts.add(_rows(1, 2, 3, 1, 4, 5))
    report = await contacts.finish()
    assert not bus.overlapping_ids
    assert (report.created, report.updated) == (5, 1)


async def test_a_batch_over_the_payload_limit_is_split() -> None:
    bus = FakeAudience(delay=0)
    long_rows = [ContactInput(telegram_id=i, first_name="x" * 200) for i in range(8)]
    contacts = ContactImport(bus, META, batch_rows=8, max_payload=1000)  # type: ignore[arg-type]
    await contacts.add(long_rows)  # type: ignore[arg-type]
    report = await contacts.finish()
    assert len(bus.batches) > 1
    assert [i for batch in bus.batches for i in batch] == list(range(8))
    assert report.created == 8


async def test_a_failed_batch_stops_the_import_and_says_what_landed() -> None:
    bus = FakeAudience(fail_on=1)
    contacts = ContactImport(bus, META, batch_rows=2, in_flight=1)  # type: ignore[arg-type]
    with pytest.raises(Problem) as stopped:
        await contacts.add(_rows(*range(10)))
        await contacts.finish()
    assert stopped.value.code == ErrorCode.SERVICE_UNAVAILABLE
    assert "import the file again" in stopped.value.message
    assert stopped.value.details == {"created": 2, "updated": 0, "rejected": 0}


async def test_errors_beyond_the_cap_are_counted_not_listed() -> None:
    contacts = ContactImport(FakeAudience(), META)  # type: ignore[arg-type]
    await contacts.add([RowError(row=n, reason="bad") for n in range(2, 1_503)])
    report = await contacts.finish()
    assert report.rejected == 1_501
    assert len(report.errors) == 1_000 and report.errors[-1].row == 1_001
    assert report.errors_truncated is True


async def _body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_run_import_streams_a_csv_and_refuses_an_empty_body() -> None:
    bus = FakeAudience(delay=0)
    report = await run_import(
        _body(b"telegramId,age\n1,", b"30\n2,x\n3,", b"40"),
        CsvRows(),
        ContactImport(bus, META),  # type: ignore[arg-type]
    )
    assert (report.created, report.rejected) == (2, 1)
    assert report.errors[0].row == 3
    with pytest.raises(EmptyImport):
        await run_import(_body(b""), CsvRows(), ContactImport(bus, META))  # type: ignore[arg-type]
