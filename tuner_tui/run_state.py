"""What the monitor shows about one run, folded from its events: core's RunStatus plus chart series.

The status part (started/final event, step, losses, best validation loss, stopping) is
`core.run_status.RunStatus`, the fold `tuner runs` uses too; this module adds what only a screen
needs: bounded chart series, the latest samples, warnings and checkpoints. Pure: no IO, no clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.run_status import RunStatus

Series = list[tuple[float, float]]

MAX_POINTS = 2000  # per series; older points are thinned (a chart is at most ~300 dots wide)
MAX_WARNINGS = 50


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _checkpoint_step(path: str | None) -> int | None:
    if not path:
        return None
    tail = Path(path).name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _thin(points: Series) -> Series:
    """About half the points: the lowest and the highest of every four, in step order."""
    out: Series = []
    for i in range(0, len(points), 4):
        group = points[i : i + 4]
        lo, hi = min(group, key=lambda p: p[1]), max(group, key=lambda p: p[1])
        out.extend(sorted({lo, hi}))
    return out


def _append(series: Series, point: tuple[float, float]) -> None:
    """Append, thinning the older half when the series is full: recent points stay dense."""
    # Min and max per group rather than every other point: the chart draws each dot column's
    # min..max, so a loss spike or a throughput dip in the thinned past stays visible.
    series.append(point)
    if len(series) > MAX_POINTS:
        half = len(series) // 2
        thinned = _thin(series[:half])
        if thinned[0] != series[0]:
            thinned.insert(0, series[0])  # the chart starts where the run did
        series[:half] = thinned


class RunState:
    """Everything the monitor shows, folded from events.

    With `series=False` only the summary is kept (the runs list follows every run this way).
    `skip()` marks where a windowed read left out the middle of the file (rules as core.runs.run_info).
    """

    def __init__(self, series: bool = True) -> None:
        self.keep_series = series
        self.reset()

    def reset(self) -> None:
        """Forget everything (the event file was replaced or truncated)."""
        self.summary = RunStatus()
        self.last_step: dict[str, Any] | None = None
        self.last_val: dict[str, Any] | None = None
        self.train_loss: Series = []
        self.val_loss: Series = []
        self.lr: Series = []
        self.tokens_per_s: Series = []
        self.rss: Series = []
        self.accel: Series = []
        self.exact_match: Series = []
        self.exec_accuracy: Series = []  # eval.exec: share of a sandbox-checked sample that ran right
        self.samples: dict[str, Any] | None = None
        self.warnings: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.events = 0  # events folded (a skipped middle, or the sampled steps of one, not counted)
        self.last_event_time: float | None = None

    def skip(self) -> None:
        """The reader left out the middle of the file: a final event before it was followed by a resume."""
        self.summary.skip()

    def apply(self, records: list[dict[str, Any]]) -> None:
        """Fold a batch of event records (any number) into the state."""
        for rec in records:
            self.summary.apply(rec)
            self._apply(rec)

    def _series(self, series: Series, step: int, value: Any) -> None:
        v = _num(value)
        if v is not None and self.keep_series:
            _append(series, (step, v))

    def _all_series(self) -> tuple[Series, ...]:
        return (
            self.train_loss,
            self.val_loss,
            self.lr,
            self.tokens_per_s,
            self.rss,
            self.accel,
            self.exact_match,
            self.exec_accuracy,
        )

    def _apply(self, rec: dict[str, Any]) -> None:
        kind = rec.get("type")
        self.events += 1
        t = _num(rec.get("time"))
        if t is not None:
            self.last_event_time = t
        step = rec.get("step")
        if kind == "run_started":
            resumed = _checkpoint_step(rec.get("resumed_from"))
            if resumed is not None:  # steps after the checkpoint are trained again: drop the old ones
                for series in self._all_series():
                    series[:] = [p for p in series if p[0] <= resumed]
        elif kind == "step" and isinstance(step, int):
            self.last_step = rec
            self._series(self.train_loss, step, rec.get("loss"))
            self._series(self.lr, step, rec.get("lr"))
            self._series(self.tokens_per_s, step, rec.get("tokens_per_s"))
            mem = rec.get("memory") or {}
            self._series(self.rss, step, mem.get("rss_bytes"))
            self._series(self.accel, step, mem.get("accel_allocated_bytes"))
        elif kind == "eval" and isinstance(step, int):
            self.last_val = rec
            self._series(self.val_loss, step, rec.get("val_loss"))
            self._series(self.exact_match, step, rec.get("exact_match"))
            self._series(self.exec_accuracy, step, rec.get("exec_accuracy"))
        elif kind == "sample":
            self.samples = rec
        elif kind == "checkpoint":
            self.checkpoints.append(rec)
            del self.checkpoints[:-MAX_WARNINGS]
        elif kind == "warning":
            self.warnings.append(rec)
            del self.warnings[:-MAX_WARNINGS]
