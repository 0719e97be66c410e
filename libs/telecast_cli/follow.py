"""``telecast follow``: a campaign's progress, live, until its execution ends.

Reads ``GET …/progress/stream`` (Server-Sent Events); when the stream cannot be had or
breaks off, polls ``GET …/progress`` instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.live import Live

from telecast_cli.api import Api, ApiError, StreamBroken
from telecast_cli.render import FINAL_STATUSES, RateMeter, progress_view
from telecast_cli.sse import parse_events

# Answers meaning the gateway has no stream to give, rather than a refusal of the campaign.
STREAM_MISSING = frozenset({"NOT_FOUND", "METHOD_NOT_ALLOWED", "HTTP_ERROR"})


def streamed(api: Api, campaign_id: str) -> Iterator[dict[str, Any]]:
    """Each progress the stream sends; ``ApiError`` for an ``error`` event or a refusal,
    ``StreamBroken`` when it breaks off before the final one."""
    with api.stream(f"/api/v1/campaigns/{campaign_id}/progress/stream") as lines:
        for event in parse_events(lines):
            body = json.loads(event.data)
            if event.event == "error":
                raise ApiError(body.get("code", "ERROR"), body.get("message", ""))
            if event.event == "progress":
                yield body
                if body.get("status") in FINAL_STATUSES:
                    return
    raise StreamBroken("the stream ended before the execution did")


def polled(api: Api, campaign_id: str, interval: float) -> Iterator[dict[str, Any]]:
    while True:
        progress = api.call("GET", f"/api/v1/campaigns/{campaign_id}/progress")
        yield progress
        if progress.get("status") in FINAL_STATUSES:
            return
        time.sleep(interval)


def follow(
    api: Api,
    campaign_id: str,
    console: Console,
    poll_interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Show the progress until the execution is completed or cancelled, live on a
    terminal, then once more to stay on the screen (the only output elsewhere); the last
    progress."""
    meter = RateMeter()
    last: dict[str, Any] = {}

    def show(progress: dict[str, Any], live: Live) -> None:
        nonlocal last
        last = progress
        rate = meter.add(clock(), _processed(progress))
        live.update(progress_view(progress, rate), refresh=True)

    with Live(console=console, auto_refresh=False, transient=True) as live:
        try:
            for progress in streamed(api, campaign_id):
                show(progress, live)
        except StreamBroken as broken:
            console.print(f"[yellow]progress stream failed ({broken}); polling instead[/]")
        except ApiError as error:
            # No such route (an older gateway, a proxy): the campaign itself is another
            # code (CAMPAIGN_NOT_FOUND), which polling would only repeat.
            if error.code not in STREAM_MISSING:
                raise
            console.print(f"[yellow]no progress stream ({error.message}); polling instead[/]")
        if last.get("status") not in FINAL_STATUSES:
            for progress in polled(api, campaign_id, poll_interval):
                show(progress, live)
    console.print(progress_view(last, meter.add(clock(), _processed(last))))
    return last


def _processed(progress: dict[str, Any]) -> int:
    return int((progress.get("progress") or {}).get("processed") or 0)
