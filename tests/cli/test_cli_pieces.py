"""The pure pieces of the ``telecast`` CLI: the credentials file, reading Server-Sent
Events, the progress line, rates, ETA, the tables (no server needed)."""

from __future__ import annotations

import io
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from telecast_cli.credentials import Credentials, credentials_path, load, save
from telecast_cli.render import (
    RateMeter,
    duration,
    eta_seconds,
    import_summary,
    progress_line,
    statistics_tables,
)
from telecast_cli.sse import Event, parse_events

RUNNING = {
    "status": "running",
    "progress": {
        "percentage": 65,
        "processed": 5525,
        "total": 8500,
        "successful": 5300,
        "failed": 225,
    },
    "currentRate": 120,
    "errors": [{"code": "USER_BLOCKED", "count": 150, "message": "User has blocked the bot"}],
}


def _text(*renderables: object) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160)
    for renderable in renderables:
        console.print(renderable)
    return buffer.getvalue()


def test_credentials_are_written_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "telecast" / "credentials.json"
    path.parent.mkdir()
    path.write_text("{}")
    os.chmod(path, 0o644)  # an older file, readable by anyone

    save(Credentials("http://api", "a@b.c", "access", "refresh"), path)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load(path) == Credentials("http://api", "a@b.c", "access", "refresh")
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


def test_the_config_dir_comes_from_the_environment_or_home() -> None:
    assert credentials_path({"TELECAST_CONFIG_DIR": "/etc/tc"}) == Path("/etc/tc/credentials.json")
    assert credentials_path({}) == Path.home() / ".config" / "telecast" / "credentials.json"


def test_missing_or_broken_credentials_are_none(tmp_path: Path) -> None:
    assert load(tmp_path / "nothing.json") is None
    (tmp_path / "broken.json").write_text('{"url": 1')
    assert load(tmp_path / "broken.json") is None


def test_events_are_read_as_the_standard_says() -> None:
    lines = [
        ": heartbeat",
        "",
        "id: 1",
        "event: progress",
        'data: {"a":',
        "data: 1}",
        "retry: 2000",
        "",
        "data:plain",
        "",
        "event: error",
        'data: {"code":"X"}',
    ]
    assert list(parse_events(lines)) == [
        Event("progress", '{"a":\n1}', "1"),
        Event("message", "plain", "1"),
        Event("error", '{"code":"X"}', "1"),
    ]


def test_the_progress_line_shows_counts_rate_and_eta() -> None:
    line = progress_line(RUNNING)
    assert line.startswith("running   65.0%  5,525/8,500  ok 5,300  failed 225  120.0 msg/s")
    # (8500 - 5525) / 120 s
    assert line.endswith("ETA 0:25")


def test_the_observed_rate_stands_in_when_the_api_gives_none() -> None:
    assert "40.0 msg/s" in progress_line({**RUNNING, "currentRate": 0}, observed_rate=40.0)
    assert "ETA -" in progress_line({**RUNNING, "currentRate": 0})


def test_eta_prefers_the_estimated_completion() -> None:
    now = datetime(2024, 6, 20, 16, 40, tzinfo=UTC)
    estimated = (now + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert eta_seconds({**RUNNING, "estimatedCompletion": estimated}, 120, now) == 300
    assert eta_seconds({**RUNNING, "status": "completed"}, 0) == 0


def test_durations() -> None:
    assert duration(None) == "-"
    assert duration(59.6) == "1:00"
    assert duration(3725) == "1:02:05"


def test_the_rate_meter_measures_over_its_window() -> None:
    meter = RateMeter(window=5)
    assert meter.add(0, 0) == 0
    assert meter.add(1, 100) == 100
    assert meter.add(2, 300) == 150
    # Samples older than the window are forgotten: from t=5 to t=10, 500 messages.
    for t in range(3, 11):
        rate = meter.add(t, 300 + (t - 2) * 100)
    assert rate == 100


def test_statistics_become_four_tables() -> None:
    report = {
        "overview": {
            "messagesSent": 8500,
            "delivered": 8200,
            "read": 6500,
            "clicked": 1200,
            "converted": 425,
            "revenue": 42500,
        },
        "performance": {
            "deliveryRate": 96.5,
            "readRate": 76.5,
            "clickRate": 14.1,
            "conversionRate": 5.0,
        },
        "timeline": [{"date": "2024-06-20", "sent": 8500, "delivered": 8200, "conversions": 425}],
        "segments": [{"segmentId": "seg123", "performance": {"sent": 4000, "conversionRate": 8.5}}],
    }
    tables = statistics_tables(report)
    assert [table.title for table in tables] == ["Overview", "Performance", "Timeline", "Segments"]
    text = _text(*tables)
    for expected in ("8,500", "42,500.00", "96.50%", "2024-06-20", "seg123", "8.50%"):
        assert expected in text
    assert [t.title for t in statistics_tables({"overview": report["overview"]})] == ["Overview"]


def test_the_import_summary_lists_the_first_errors() -> None:
    report = {
        "created": 2,
        "updated": 1,
        "rejected": 12,
        "errors": [{"row": n, "field": "age", "reason": "age: not a number"} for n in range(12)],
        "errorsTruncated": False,
    }
    lines = import_summary(report, shown_errors=3)
    assert lines == [
        "created 2, updated 1, rejected 12",
        "  row 0 age: age: not a number",
        "  row 1 age: age: not a number",
        "  row 2 age: age: not a number",
        "  … and 9 more rejected rows",
    ]
