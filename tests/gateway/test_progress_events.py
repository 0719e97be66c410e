"""The events of a progress stream, from a fake of the read model's answers (no server):
a first event at once, one per change, heartbeats while nothing changes, the end after a
final status, an ``error`` event when the campaign goes away."""

from __future__ import annotations

import json
from collections.abc import Iterator

from telecast_gateway.routes.progress_stream import progress_events
from telecast_libs.contracts.errors import ErrorCode, Problem
from telecast_libs.contracts.views import CampaignProgress, ProgressCounts


def _progress(status: str, processed: int) -> CampaignProgress:
    return CampaignProgress(
        status=status,
        progress=ProgressCounts(
            percentage=processed, processed=processed, total=100, successful=processed, failed=0
        ),
        current_rate=10,
        errors=[],
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _collect(answers: list[CampaignProgress | Problem], clock: Clock) -> list[bytes]:
    remaining: Iterator[CampaignProgress | Problem] = iter(answers)

    async def fetch() -> CampaignProgress:
        clock.now += 5  # each poll takes 5 s of the fake clock
        answer = next(remaining)
        if isinstance(answer, Problem):
            raise answer
        return answer

    first = _progress("running", 0)
    return [
        message.encode()
        async for message in progress_events(
            fetch, first, poll_seconds=0, heartbeat_seconds=9, clock=clock
        )
    ]


def _data(encoded: bytes) -> dict:
    [line] = [part for part in encoded.decode().split("\r\n") if part.startswith("data: ")]
    return json.loads(line.removeprefix("data: "))


async def test_changes_are_sent_heartbeats_fill_the_quiet_and_a_final_status_ends() -> None:
    same = _progress("running", 0)
    messages = await _collect(
        [
            same,
            _progress("running", 40),
            same := _progress("running", 40),
            same,
            same,
            Problem("the projection service did not answer in time", code="SERVICE_UNAVAILABLE"),
            _progress("completed", 100),
            _progress("completed", 100),  # never asked for: the stream has ended
        ],
        Clock(),
    )

    kinds = [
        "heartbeat" if message.startswith(b": heartbeat") else _data(message)["status"]
        for message in messages
    ]
    assert kinds == ["running", "running", "heartbeat", "heartbeat", "completed"]
    progress = [message for message in messages if not message.startswith(b":")]
    assert [b"id: %d\r\n" % n in message for n, message in enumerate(progress, 1)] == [True] * 3
    assert b"event: progress\r\n" in progress[0]
    assert _data(progress[1])["progress"]["processed"] == 40
    assert "estimatedCompletion" not in _data(progress[0])  # absent, as in GET …/progress


async def test_a_campaign_that_goes_away_ends_the_stream_with_an_error_event() -> None:
    gone = Problem("campaign x does not exist", code=ErrorCode.CAMPAIGN_NOT_FOUND)
    messages = await _collect([_progress("running", 10), gone], Clock())

    assert len(messages) == 3
    assert b"event: error\r\n" in messages[-1]
    assert _data(messages[-1]) == {
        "code": "CAMPAIGN_NOT_FOUND",
        "message": "campaign x does not exist",
    }


async def test_a_token_that_lapses_or_is_revoked_ends_the_stream_with_an_error_event() -> None:
    reasons = iter([None, None, "this operator no longer has access"])

    async def revoked() -> str | None:
        return next(reasons)

    async def fetch() -> CampaignProgress:
        return _progress("running", 10)

    messages = [
        message.encode()
        async for message in progress_events(
            fetch, _progress("running", 0), poll_seconds=0, revoked=revoked
        )
    ]
    assert b"event: error\r\n" in messages[-1]
    assert _data(messages[-1])["code"] == "UNAUTHORIZED"


async def test_a_draft_streams_one_event_and_ends() -> None:
    async def fetch() -> CampaignProgress:
        raise AssertionError("a draft's stream polls nothing")

    messages = [m async for m in progress_events(fetch, _progress("draft", 0), poll_seconds=0)]
    assert len(messages) == 1
