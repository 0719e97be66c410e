"""Many conflicting commands on one campaign at once: no lost update, a valid stream, and a
read model equal to a replay of that stream."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx
from support.inspect import checkpoint, stored_events, stream_last_seq, wait_until

from telecast_campaign.bootstrap import build_application
from telecast_devenv.platform import Platform


async def _storm(base_url: str, token: str, cid: str, count: int) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:

        async def one(index: int) -> httpx.Response:
            action = random.choice(["pause", "resume", "update", "update-if-match"])
            if action in ("pause", "resume"):
                return await client.post(f"/api/v1/campaigns/{cid}/{action}")
            extra = {"If-Match": '"3"'} if action == "update-if-match" else {}
            return await client.put(
                f"/api/v1/campaigns/{cid}",
                json={"description": f"edit {index}", "budget": index},
                headers=extra,
            )

        return await asyncio.gather(*(one(i) for i in range(count)))


def test_concurrent_commands_leave_a_valid_stream_and_a_matching_read_model(
    platform: Platform, api: httpx.Client
) -> None:
    cid = api.post("/api/v1/campaigns", json={"name": "Contended", "type": "message"}).json()[
        "data"
    ]["id"]
    assert api.post(f"/api/v1/campaigns/{cid}/execute").status_code == 200
    token = api.headers["Authorization"].removeprefix("Bearer ")
    answers = asyncio.run(_storm(platform.base_url, token, cid, 120))

    codes = [a.status_code for a in answers]
    assert set(codes) <= {200, 409, 412}, codes
    accepted = sum(code == 200 for code in codes)
    refusals = {a.json()["error"]["code"] for a in answers if a.status_code != 200}
    assert refusals <= {"INVALID_STATE_TRANSITION", "PRECONDITION_FAILED", "VERSION_CONFLICT"}

    # Every accepted command is exactly one event, versions without a gap.
    events = stored_events(platform.database_url, cid)
    assert [version for version, _ in events] == list(range(1, len(events) + 1))
    assert len(events) == 2 + accepted  # created, started, then one per accepted command
    # Replaying the stream obeys the lifecycle: pause only when active, resume only when paused.
    state = "active"
    for _, topic in events[2:]:
        kind = topic.split(".")[-1]
        if kind == "Paused":
            assert state == "active"
            state = "paused"
        elif kind == "Resumed":
            assert state == "paused"
            state = "active"

    wait_until(
        lambda: (
            checkpoint(platform.database_url)[0]
            == stream_last_seq(platform.nats_url, platform.namespace)
        ),
        what="the projection to catch up",
    )
    app = build_application(platform.database_url)
    try:
        replayed = app.repository.get(uuid.UUID(cid))
    finally:
        app.close()
    shown = api.get(f"/api/v1/campaigns/{cid}")
    detail = shown.json()["data"]
    assert shown.headers["ETag"] == f'"{replayed.version}"'
    assert detail["status"] == replayed.status == state
    assert detail["description"] == replayed.content.get("description")
    assert detail["budget"] == replayed.content.get("budget")
