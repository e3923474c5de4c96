"""A run's status folded from its events: the one fold `core.runs.run_info` and the TUI's monitor share.

`RunStatus` takes events in file order, one at a time or in batches, as they arrive (the TUI
feeds each poll's new events; run_info a bounded window of the file). It keeps only what says
where a run is — the last run_started and final event, step, losses, the best validation loss,
whether a stop was acknowledged — never a history. Liveness (is the trainer still there?) is
not in the events: callers combine `final_status` with a pid check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.events import HEAD_BYTES, TAIL_BYTES, LineTail, parse_line

# How a step event line starts its type as EventWriter writes it: fold_event_file parses only the
# last one (a step's fields are all "last one wins"). Another spelling is simply parsed.
_STEP_MARK = b'"type": "step"'


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@dataclass
class RunStatus:
    """What the events say about a run, folded in file order (no IO, no clock)."""

    started: dict[str, Any] | None = None  # the last run_started event
    final: dict[str, Any] | None = None  # the finished/failed event after it, if any
    stopping: bool = False  # the trainer acknowledged a stop signal (a "stopping" warning)
    step: int | None = None  # the last event's `step`
    max_steps: int | None = None
    last_loss: float | None = None
    best_val: float | None = None
    best_step: int | None = None  # None when the best comes from a final event's figure
    pid: int | None = None
    skipped: bool = False  # the reader left out the middle of the file

    @property
    def preset(self) -> str | None:
        return self.started.get("preset") if self.started else None

    @property
    def model(self) -> str | None:
        return self.started.get("model") if self.started else None

    @property
    def started_time(self) -> float | None:
        return _num(self.started.get("time")) if self.started else None

    @property
    def final_status(self) -> str | None:
        """finished / interrupted / failed from the last final event (None while there is none)."""
        if self.final is None:
            return None
        if self.final.get("type") == "failed":
            return "failed"
        return "interrupted" if self.final.get("status") == "interrupted" else "finished"

    def skip(self) -> None:
        """The reader left out the middle of the file (see core.events.LineTail)."""
        # A final event is the last line a trainer writes, so one before the gap was followed by
        # a resume, whose run_started lies in the gap: start over as that run_started would.
        self.final, self.stopping, self.skipped = None, False, True

    def apply_all(self, events: list[dict[str, Any]]) -> None:
        """Fold a batch of events (any number)."""
        for ev in events:
            self.apply(ev)

    def apply(self, ev: dict[str, Any]) -> None:
        """Fold one event."""
        kind = ev.get("type")
        if isinstance(ev.get("step"), int):
            self.step = ev["step"]
        if kind == "run_started":
            self.started, self.final, self.stopping = ev, None, False  # a resume starts over
            self.pid = ev["pid"] if isinstance(ev.get("pid"), int) else self.pid
            self.max_steps = ev.get("max_steps", self.max_steps)
        elif kind == "step" and isinstance(ev.get("step"), int):
            self.max_steps = ev.get("max_steps", self.max_steps)
            self.last_loss = _num(ev.get("loss"))
        elif kind == "eval":
            vl = _num(ev.get("val_loss"))
            if vl is not None and (self.best_val is None or vl < self.best_val):
                self.best_val = vl
                self.best_step = ev["step"] if isinstance(ev.get("step"), int) else None
        elif kind == "warning" and ev.get("kind") == "stopping":
            self.stopping = True
        elif kind in ("finished", "failed"):
            self.final = ev
            figure = _num(ev.get("best_val_loss"))
            if (
                kind == "finished"
                and figure is not None
                and (self.best_val is None or (self.skipped and figure < self.best_val))
            ):
                # After a skip the trainer's figure covers evals in the unread middle (step unknown).
                self.best_val = figure
                self.best_step = None if self.skipped else self.best_step


def fold_event_file(path: Path) -> RunStatus:
    """Fold the first HEAD_BYTES and last TAIL_BYTES of an event file (all of a smaller one)."""
    tail = LineTail(path, backlog=TAIL_BYTES, head=HEAD_BYTES)
    lines = tail.poll()  # a torn last line stays buffered: left out, as read_events does
    gap = len(lines) if tail.gap_at is None else tail.gap_at
    last_step = next(
        (
            i
            for i in range(len(lines) - 1, -1, -1)
            if _STEP_MARK in lines[i] and (parse_line(lines[i]) or {}).get("type") == "step"
        ),
        -1,
    )
    fold = RunStatus()
    for i, line in enumerate(lines):
        if i == gap:
            fold.skip()
        if i < last_step and _STEP_MARK in line:
            continue  # overridden by the last step: parsing the window's ~2,000 steps would cost ~15 ms a run
        ev = parse_line(line) if line.strip() else None
        if ev is not None:
            fold.apply(ev)
    if tail.gap_at is not None and gap == len(lines):
        fold.skip()
    return fold
