"""What the CLI prints: rich tables and lines made from the API's answers (no I/O here)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

FINAL_STATUSES = frozenset({"completed", "cancelled"})


def number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value or 0):,}"


def duration(seconds: float | None) -> str:
    """``1:02:03`` / ``2:03``; ``-`` when unknown."""
    if seconds is None or seconds < 0:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RateMeter:
    """Messages per second seen over the last ``window`` seconds of progress samples: the
    rate to show when the API gives none."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, processed: int) -> float:
        self.samples.append((at, processed))
        while len(self.samples) > 2 and at - self.samples[1][0] >= self.window:
            self.samples.popleft()
        first_at, first = self.samples[0]
        if at - first_at <= 0:
            return 0.0
        return max(0.0, (processed - first) / (at - first_at))


def eta_seconds(progress: dict[str, Any], rate: float, now: datetime | None = None) -> float | None:
    """Seconds until the execution completes: the API's ``estimatedCompletion``, else what
    is left at ``rate``; None when neither says."""
    if progress.get("status") in FINAL_STATUSES:
        return 0.0
    estimated = progress.get("estimatedCompletion")
    if estimated:
        at = datetime.fromisoformat(estimated.replace("Z", "+00:00"))
        return max(0.0, (at - (now or datetime.now(UTC))).total_seconds())
    counts = progress.get("progress") or {}
    left = int(counts.get("total") or 0) - int(counts.get("processed") or 0)
    if rate > 0 and left > 0:
        return left / rate
    return None


def progress_line(progress: dict[str, Any], observed_rate: float = 0.0) -> str:
    """One line: status, percentage, processed/total, successes, failures, rate, ETA."""
    counts = progress.get("progress") or {}
    rate = float(progress.get("currentRate") or 0) or observed_rate
    return (
        f"{progress.get('status', '?')}  {float(counts.get('percentage') or 0):5.1f}%  "
        f"{number(counts.get('processed'))}/{number(counts.get('total'))}  "
        f"ok {number(counts.get('successful'))}  failed {number(counts.get('failed'))}  "
        f"{rate:,.1f} msg/s  ETA {duration(eta_seconds(progress, rate))}"
    )


def errors_table(errors: list[dict[str, Any]]) -> Table:
    table = Table(title="Errors by code", title_justify="left")
    table.add_column("code")
    table.add_column("count", justify="right")
    table.add_column("message")
    for error in sorted(errors, key=lambda e: -int(e.get("count") or 0)):
        table.add_row(error.get("code", ""), number(error.get("count")), error.get("message", ""))
    return table


def progress_view(progress: dict[str, Any], observed_rate: float = 0.0) -> Group:
    """The live view of ``telecast follow``: a bar, the progress line, the errors."""
    counts = progress.get("progress") or {}
    total = float(counts.get("percentage") or 0)
    # A grid, so that the bar (rendered inline) and the line each take a line of their own.
    lines = Table.grid(expand=True)
    lines.add_row(ProgressBar(total=100, completed=min(total, 100.0)))
    lines.add_row(Text(progress_line(progress, observed_rate)))
    parts: list[Any] = [lines]
    if progress.get("errors"):
        parts.append(errors_table(progress["errors"]))
    return Group(*parts)


def campaigns_table(page: dict[str, Any]) -> Table:
    pagination = page.get("pagination") or {}
    table = Table(
        title=f"Campaigns (page {pagination.get('page', 1)} of {pagination.get('pages', 1)}, "
        f"{number(pagination.get('total'))} in all)",
        title_justify="left",
    )
    for column in ("id", "name", "type", "status", "created"):
        table.add_column(column, overflow="fold")
    for campaign in page.get("campaigns") or []:
        table.add_row(
            campaign.get("id", ""),
            campaign.get("name", ""),
            campaign.get("type", ""),
            campaign.get("status", ""),
            (campaign.get("createdAt") or "")[:19].replace("T", " "),
        )
    return table


def campaign_table(detail: dict[str, Any]) -> Table:
    table = Table(title=detail.get("name", ""), title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    audience = detail.get("targetAudience") or {}
    rows = [
        ("id", detail.get("id")),
        ("status", detail.get("status")),
        ("type", detail.get("type")),
        ("version", detail.get("version")),
        ("description", detail.get("description")),
        ("segments", ", ".join(audience.get("segments") or [])),
        ("audience", audience.get("totalCount")),
        ("messages", len(detail.get("messages") or [])),
        ("budget", detail.get("budget")),
        ("start", detail.get("startDate")),
        ("end", detail.get("endDate")),
        ("created", detail.get("createdAt")),
        ("updated", detail.get("updatedAt")),
    ]
    execution = detail.get("execution") or {}
    rows += [(f"execution.{key}", value) for key, value in execution.items()]
    for field, value in rows:
        if value not in (None, ""):
            table.add_row(field, str(value))
    return table


def _rate(value: Any) -> str:
    return f"{float(value or 0):.2f}%"


def statistics_tables(report: dict[str, Any]) -> list[Table]:
    """Overview, performance, timeline and segments, each a table (when present)."""
    tables = []
    overview = report.get("overview")
    if overview is not None:
        table = Table(title="Overview", title_justify="left")
        for column in ("sent", "delivered", "read", "clicked", "converted", "revenue"):
            table.add_column(column, justify="right")
        table.add_row(
            *(
                number(overview.get(key))
                for key in ("messagesSent", "delivered", "read", "clicked", "converted")
            ),
            f"{float(overview.get('revenue') or 0):,.2f}",
        )
        tables.append(table)
    performance = report.get("performance")
    if performance is not None:
        table = Table(title="Performance", title_justify="left")
        keys = ("deliveryRate", "readRate", "clickRate", "conversionRate")
        for column in ("delivery", "read", "click", "conversion"):
            table.add_column(column, justify="right")
        table.add_row(*(_rate(performance.get(key)) for key in keys))
        tables.append(table)
    timeline = report.get("timeline")
    if timeline is not None:
        table = Table(title="Timeline", title_justify="left")
        table.add_column("date")
        for column in ("sent", "delivered", "conversions"):
            table.add_column(column, justify="right")
        for point in timeline:
            table.add_row(
                str(point.get("date", "")),
                number(point.get("sent")),
                number(point.get("delivered")),
                number(point.get("conversions")),
            )
        if not timeline:
            table.add_row("(nothing yet)", "", "", "")
        tables.append(table)
    segments = report.get("segments")
    if segments is not None:
        table = Table(title="Segments", title_justify="left")
        table.add_column("segment", overflow="fold")
        table.add_column("name")
        table.add_column("sent", justify="right")
        table.add_column("conversion", justify="right")
        for segment in segments:
            performance = segment.get("performance") or {}
            table.add_row(
                segment.get("segmentId", ""),
                segment.get("name") or "",
                number(performance.get("sent")),
                _rate(performance.get("conversionRate")),
            )
        tables.append(table)
    return tables


def import_summary(report: dict[str, Any], shown_errors: int = 10) -> list[str]:
    lines = [
        f"created {number(report.get('created'))}, updated {number(report.get('updated'))}, "
        f"rejected {number(report.get('rejected'))}"
    ]
    errors = report.get("errors") or []
    for error in errors[:shown_errors]:
        field = f" {error['field']}" if error.get("field") else ""
        lines.append(f"  row {error.get('row')}{field}: {error.get('reason')}")
    more = int(report.get("rejected") or 0) - min(len(errors), shown_errors)
    if more > 0:
        lines.append(f"  … and {more:,} more rejected rows")
    return lines
