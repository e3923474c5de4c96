"""The versioned event stream of a run: one JSON object per line in `events.jsonl`.

The trainer writes events with `EventWriter`; every client (CLI, TUI) reads them with
`EventTail` (incrementally) or `read_events` (once). The format is documented in
docs/run-directory.md. This module imports only the standard library (and core.secrets, which does too) so that clients start
without torch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from core.secrets import scrub

EVENT_VERSION = 1

# The keys of Step.memory, in display order (filled by core.sysinfo.memory_snapshot).
MEMORY_KEYS = (
    "rss_bytes",
    "sys_used_bytes",
    "sys_total_bytes",
    "accel_allocated_bytes",
    "accel_reserved_bytes",
    "accel_peak_bytes",
    "gpu_util_pct",
)


@dataclass(kw_only=True)
class Event:
    """Base of every event: `time` is the unix time it was created."""

    type: ClassVar[str] = ""
    time: float = field(default_factory=_time.time)


@dataclass(kw_only=True)
class RunStarted(Event):
    """The run is set up (model loaded, data ready) and the first step is about to run."""

    type: ClassVar[str] = "run_started"
    run: str
    run_dir: str
    preset: str
    model: str
    device: str
    dtype: str
    adapter: str  # "lora" | "qlora" | "full"
    trainable_params: int
    total_params: int
    train_rows: int
    val_rows: int
    dropped_too_long: int
    max_steps: int
    epochs: float
    micro_batch_size: int
    grad_accum: int
    max_seq_len: int
    batching: str
    pid: int
    resumed_from: str | None = None
    world_size: int = 1
    xla_cores: int = 1  # cores one process drives through XLA SPMD (the batch is sharded over them)


@dataclass(kw_only=True)
class Step(Event):
    """Training progress over one logging window (the last `log.every` optimizer steps)."""

    type: ClassVar[str] = "step"
    step: int
    max_steps: int
    epoch: float
    loss: float | None  # None when non-finite (NaN/inf are not valid JSON)
    lr: float
    grad_norm: float | None = None
    tokens: int = 0
    tokens_per_s: float = 0.0
    samples_per_s: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    nonfinite_skipped: int = 0
    memory: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class Eval(Event):
    """Validation results at a step."""

    type: ClassVar[str] = "eval"
    step: int
    val_loss: float | None
    perplexity: float | None
    exact_match: float | None = None
    exact_match_rows: int = 0
    syntax_valid: float | None = None  # share of those generations that are a non-empty, valid bash command


@dataclass(kw_only=True)
class Sample(Event):
    """Generations for the sample prompts; each item: prompt, output, command, dangerous."""

    type: ClassVar[str] = "sample"
    step: int
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True)
class Checkpoint(Event):
    """A complete checkpoint was saved (its COMPLETE marker exists)."""

    type: ClassVar[str] = "checkpoint"
    step: int
    path: str
    is_best: bool = False
    val_loss: float | None = None


@dataclass(kw_only=True)
class WarningEvent(Event):
    """Something the user should know that does not stop the run."""

    type: ClassVar[str] = "warning"
    message: str
    kind: str = "warning"
    step: int | None = None


@dataclass(kw_only=True)
class Finished(Event):
    """The run ended cleanly: completed ("finished") or stopped on a signal ("interrupted")."""

    type: ClassVar[str] = "finished"
    status: str  # "finished" | "interrupted"
    step: int
    adapter_dir: str
    best_checkpoint: str | None = None
    best_val_loss: float | None = None
    elapsed_s: float = 0.0
    reason: str = "max_steps"  # "max_steps" | "epochs" | "time_budget" | "signal"


@dataclass(kw_only=True)
class Failed(Event):
    """The run stopped on an error; kind/message/hint mirror core.errors.TunerError."""

    type: ClassVar[str] = "failed"
    step: int | None
    kind: str
    message: str
    hint: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (RunStarted, Step, Eval, Sample, Checkpoint, WarningEvent, Finished, Failed)
}

# Field names per known type, for dropping fields this reader does not know.
_KNOWN_FIELDS: dict[str, frozenset[str]] = {
    name: frozenset(f.name for f in dataclasses.fields(cls)) | {"v", "type"} for name, cls in EVENT_TYPES.items()
}


def _finite(value: Any) -> Any:
    """Replace NaN/inf by None (recursively): strict JSON has no NaN, other readers would choke."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def to_record(event: Event) -> dict[str, Any]:
    """The JSON-ready dict of an event: v, type and time first, then its fields."""
    if not isinstance(event, Event) or not event.type:
        raise TypeError(f"not an event: {event!r}")
    fields = dataclasses.asdict(event)
    record = {"v": EVENT_VERSION, "type": event.type, "time": fields.pop("time")}
    record.update(fields)
    return _finite(record)


def normalize(record: Any) -> dict[str, Any] | None:
    """A parsed line as this reader understands it, or None to skip it (not an event, newer version)."""
    if not isinstance(record, dict):
        return None
    v = record.get("v")
    if not isinstance(v, int) or isinstance(v, bool) or v > EVENT_VERSION or not isinstance(record.get("type"), str):
        return None
    known = _KNOWN_FIELDS.get(record["type"])
    if known is None:
        return record  # a type added later: passed through, clients ignore types they do not know
    return {k: val for k, val in record.items() if k in known}


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        return normalize(json.loads(line))
    except (ValueError, UnicodeDecodeError):
        return None  # a torn line (crash mid-write): skipped


class EventWriter:
    """Appends events to a JSON-lines file, one flushed line each; a no-op when `enabled` is False."""

    def __init__(self, path: str | os.PathLike[str], *, enabled: bool = True, fsync: bool = False) -> None:
        # fsync defaults off: flush() already hands the line to the OS, which is all readers on
        # the same machine need; fsync only protects against power loss and costs milliseconds.
        self.path = Path(path)
        self.enabled = enabled
        self.fsync = fsync
        self._f = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "ab")
            # A run killed mid-write leaves a line without "\n"; end it so that our first
            # line is not glued onto it (readers skip the torn line, not ours).
            if self._f.tell() > 0 and not _ends_with_newline(self.path):
                self._f.write(b"\n")
                self._f.flush()

    def write(self, event: Event) -> None:
        """Append one event as a line and flush it (and fsync when asked)."""
        if self._f is None:
            return
        # Every event passes here: secrets are masked once, for sample prompts and messages alike.
        line = scrub(json.dumps(to_record(event), allow_nan=False, default=str)) + "\n"
        self._f.write(line.encode("utf-8"))
        self._f.flush()
        if self.fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        """Close the file; later writes are no-ops."""
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


class LineTail:
    """New complete lines of a growing file: the one tailing mechanism (events, train.log, launch logs).

    Keeps a byte offset and buffers a partial last line; a poll when nothing changed is one stat,
    no read. A missing file yields nothing; a file that shrank or was replaced is read again from
    the start (`resets` counts how often, so a client can clear what it showed). With `backlog`,
    the first read starts that many bytes before the end (and drops the cut first line).
    """

    def __init__(self, path: str | os.PathLike[str], backlog: int | None = None) -> None:
        self.path = Path(path)
        self.backlog = backlog
        self.offset: int | None = None if backlog is not None else 0  # bytes consumed (None: not read yet)
        self.resets = 0
        self._partial = b""
        self._ident: tuple[int, int] | None = None

    def _reset(self) -> None:
        if self.offset or self._partial:
            self.resets += 1
        self.offset = 0
        self._partial = b""

    def poll(self) -> list[bytes]:
        """Lines completed since the last poll, without their newline."""
        try:
            st = os.stat(self.path)
        except OSError:
            self._reset()
            self._ident = None
            return []
        ident = (st.st_dev, st.st_ino)
        skip_first = False
        if self.offset is None:
            self.offset = max(0, st.st_size - (self.backlog or 0))
            skip_first = self.offset > 0  # started mid-line
        elif (self._ident is not None and ident != self._ident) or st.st_size < self.offset:
            self._reset()  # replaced or truncated: start over
        self._ident = ident
        if st.st_size == self.offset:
            return []
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(max(0, st.st_size - self.offset))
        except OSError:
            return []
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # b"" when the data ended with a newline
        return lines[1:] if skip_first else lines


class EventTail(LineTail):
    """Incremental event reader: each poll() returns the events of the lines completed since the last one."""

    def poll(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """New complete events since the last poll; torn and newer-version lines are skipped."""
        events = []
        for line in super().poll():
            if line.strip():
                record = _parse_line(line)
                if record is not None:
                    events.append(record)
        return events


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete event in a file ([] when it does not exist); torn and newer-version lines are skipped."""
    return EventTail(path).poll()
