"""How a benchmark reports: named figures, percentiles, and the markdown they go into."""

from __future__ import annotations

import math
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return math.nan
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Throughput:
    """Operations completed in a timed window, with per-operation latencies in seconds."""

    operations: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    # Operations that failed (not counted in ``operations``).
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else math.nan


@dataclass
class Row:
    benchmark: str
    figure: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None


def table(rows: list[Row]) -> str:
    lines = [
        "| benchmark | telecast | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        lines.append(
            f"| {row.benchmark} | {row.figure} | {row.baseline} | {ratio} | {row.target} | {met} |"
        )
    return "\n".join(lines)


MARKER = "<!-- Everything below this line is written by `make bench`. -->"


def record(path: Path, rows: list[Row], notes: list[str], details: str = "") -> None:
    """Replace the generated part of docs/benchmarks.md with this run's figures (and
    ``details``, markdown placed after the notes)."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{MARKER}\n"
    head = text.split(MARKER)[0].rstrip() + "\n\n" + MARKER + "\n"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {_cpus()} cores, Python {platform.python_version()}"
    body = [f"\n## Latest run ({when}; {machine})\n", table(rows), ""]
    body += [f"- {note}" for note in notes]
    if details:
        body += ["", details]
    path.write_text(head + "\n".join(body) + "\n")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0
