"""Reading a Server-Sent Events stream: lines in, events out (no I/O here)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    event: str
    data: str
    id: str | None = None


def parse_events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a stream given line by line (without line ends), as the HTML
    standard reads them: ``field: value`` lines, a blank line ends an event, lines that
    start with ``:`` are comments (heartbeats), data lines are joined with newlines."""
    event, data, event_id = "message", [], None
    for line in lines:
        if not line:
            if data:
                yield Event(event, "\n".join(data), event_id)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    if data:
        yield Event(event, "\n".join(data), event_id)
