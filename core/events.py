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
import re
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from core.secrets import scrub

EVENT_VERSION = 1

# A windowed first read (run_info, the TUI monitor) takes the first HEAD_BYTES of an event file
# (its first run_started and what follows) and the last TAIL_BYTES (about 2,000 step events of
# ~500 bytes: one chart's worth of recent points); the middle of a larger file is not read, so
# listing a run and opening it cost the same for 10 events or a million.
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 1024 * 1024

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
    exec_accuracy: float | None = (
        None  # eval.exec: share of the sampled exec-set rows right when run in the sandbox
    )
    exec_rows: int = 0


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
    name: frozenset(f.name for f in dataclasses.fields(cls)) | {"v", "type"}
    for name, cls in EVENT_TYPES.items()
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
    if (
        not isinstance(v, int)
        or isinstance(v, bool)
        or v > EVENT_VERSION
        or not isinstance(record.get("type"), str)
    ):
        return None
    known = _KNOWN_FIELDS.get(record["type"])
    if known is None:
        return record  # a type added later: passed through, clients ignore types they do not know
    return {k: val for k, val in record.items() if k in known}


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One line as an event, or None (torn, not an event, newer version)."""
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
            self._f = open(self.path, "ab")  # noqa: SIM115 - held open for the run, closed by close()
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

    def __enter__(self) -> EventWriter:
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
    the first read of a file larger than `head + backlog` bytes takes only its first `head` bytes
    and its last `backlog` bytes, whole lines of each: the middle is not read, `skipped` says which
    bytes, and `gap_at` says where in that poll's lines they were. Its cost does not grow with the file.
    """

    def __init__(self, path: str | os.PathLike[str], backlog: int | None = None, head: int = 0) -> None:
        self.path = Path(path)
        self.backlog = backlog
        self.head = head if backlog is not None else 0
        self.offset: int | None = None if backlog is not None else 0  # bytes consumed (None: not read yet)
        self.resets = 0
        self.bytes_read = 0  # from disk, all polls together: what the reading costs (benchmarks, tests)
        self.skipped: tuple[int, int] | None = None  # [start, end) of the bytes the first read left out
        self.gap_at: int | None = (
            None  # in the last poll's lines: where `skipped` lies (None: nothing skipped)
        )
        self._partial = b""
        self._cut = False  # the buffered partial line began before what was read: drop it when it ends
        self._ident: tuple[int, int] | None = None

    @property
    def consumed(self) -> int:
        """Bytes up to the end of the last complete line returned (0 before the first read)."""
        return max(0, (self.offset or 0) - len(self._partial))

    def _reset(self) -> None:
        if self.offset or self._partial:
            self.resets += 1
        # a replaced file gets a windowed first read too
        self.offset = None if self.backlog is not None else 0
        self._partial = b""
        self._cut = False
        self.skipped = None

    def _read(self, f: Any, start: int, size: int) -> bytes:
        f.seek(start)
        data = f.read(max(0, size))
        self.bytes_read += len(data)
        return data

    def _window(self, f: Any, size: int) -> list[bytes]:
        """The first read of a large file: whole lines of its first and last bytes, the middle skipped."""
        assert self.backlog is not None
        head = self._read(f, 0, self.head) if self.head else b""
        head_end = head.rfind(b"\n") + 1  # a line cut at the window's edge is left out
        lines = head[:head_end].split(b"\n")[:-1]
        start = size - self.backlog
        data = self._read(f, start - 1, size - start + 1)  # one byte before: is `start` a line start?
        first = data.find(b"\n")
        if first < 0:  # no line starts in the window: its end belongs to a line begun before it
            tail_from, rest, self._cut = size, data[1:], True
        else:
            tail_from, rest = start + first, data[first + 1 :]
        self.skipped = (head_end, tail_from)
        self.gap_at = len(lines)
        parts = rest.split(b"\n")
        self._partial = parts.pop()
        self.offset = start - 1 + len(data)
        return lines + parts

    def poll(self) -> list[bytes]:
        """Lines completed since the last poll, without their newline."""
        self.gap_at = None
        try:
            st = os.stat(self.path)
        except OSError:
            self._reset()
            self._ident = None
            return []
        ident = (st.st_dev, st.st_ino)
        if self.offset is not None and (
            (self._ident is not None and ident != self._ident) or st.st_size < self.offset
        ):
            self._reset()  # replaced or truncated: start over
        self._ident = ident
        if self.offset is None and st.st_size == 0:
            self.offset = 0  # an empty file: what it gets is read as it comes
        if st.st_size == self.offset:
            return []
        try:
            with open(self.path, "rb") as f:
                if self.offset is None:
                    if self.backlog is not None and st.st_size > self.head + self.backlog:
                        return self._window(f, st.st_size)
                    self.offset = 0
                data = self._read(f, self.offset, st.st_size - self.offset)
        except OSError:
            return []
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # b"" when the data ended with a newline
        if self._cut and lines:
            self._cut = False
            return lines[1:]  # the rest of a line whose start was never read
        return lines


class EventTail(LineTail):
    """Incremental event reader: each poll() returns the events of the lines completed since the last one."""

    def poll(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """New complete events since the last poll; torn and newer-version lines are skipped."""
        events: list[dict[str, Any]] = []
        lines = super().poll()
        gap, self.gap_at = self.gap_at, None
        for i, line in enumerate(lines):
            if i == gap:
                self.gap_at = len(events)  # counted in events, not lines: torn lines are left out
            if line.strip():
                record = parse_line(line)
                if record is not None:
                    events.append(record)
        if gap is not None and self.gap_at is None:
            self.gap_at = len(events)  # the window's tail held no complete line
        return events


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete event in a file ([] when it does not exist); torn and newer-version lines are skipped."""
    return EventTail(path).poll()


# The start of an event's `type` when it is not "step": nearly every line of a long run is a
# step, so one regex pass finds the rest without parsing the steps. Text inside JSON strings
# cannot match (its quotes are escaped); a nested "type" key only costs a parse.
_NOT_STEP = re.compile(rb'"type"\s*:\s*"(?!step")')


def parse_lines(lines: list[bytes]) -> list[dict[str, Any]]:
    """The events of complete lines; empty, torn and newer-version lines are skipped."""
    return [rec for rec in map(parse_line, filter(bytes.strip, lines)) if rec is not None]


def read_range(path: str | os.PathLike[str], start: int, end: int) -> list[dict[str, Any]]:
    """The events of the whole lines in bytes [start, end) of a file (`start` at a line start)."""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(max(0, end - start))
    except OSError:
        return []
    return parse_lines(data[: data.rfind(b"\n") + 1].split(b"\n")[:-1])


class HistoryScan:
    """The events of a byte range of an event file, cheaply: every one that is not a `step`, and
    about `points` steps evenly spread over the range (one per stride of bytes).

    For the long-range charts of a file whose middle a windowed first read skipped: evaluations,
    checkpoints, warnings and resumes are all found (one regex pass per block, no JSON parse of the
    step lines around them), and the loss curve is a sample. read() takes a byte budget so a caller
    polling on a timer spreads a long file over several polls; memory stays one block.
    """

    def __init__(self, path: str | os.PathLike[str], start: int, end: int, points: int) -> None:
        self.path = Path(path)
        self.start, self.pos, self.end = start, start, end
        self.stride = max(1, (end - start) // max(1, points))
        self.bytes_read = 0
        self._next = start  # the next sampling position

    @property
    def done(self) -> bool:
        return self.pos >= self.end

    def read(self, budget: int) -> list[dict[str, Any]]:
        """Events of the next `budget` bytes (rounded to whole lines), in file order."""
        if self.done:
            return []
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                chunk = f.read(min(budget, self.end - self.pos))
        except OSError:
            self.pos = self.end
            return []
        self.bytes_read += len(chunk)
        n = chunk.rfind(b"\n") + 1 if self.pos + len(chunk) < self.end else len(chunk)
        n = n or len(chunk)  # a line longer than the budget is cut (and skipped as torn)
        base, self.pos = self.pos, self.pos + n
        if not n:
            self.pos = self.end  # the file is shorter than the range said: it was replaced
            return []
        starts: dict[int, bool] = {}  # line start -> sampled (kept even when it is a step)
        for m in _NOT_STEP.finditer(chunk, 0, n):
            starts.setdefault(chunk.rfind(b"\n", 0, m.start()) + 1, False)
        while self._next < self.pos:
            starts[chunk.rfind(b"\n", 0, self._next - base) + 1] = True  # the line holding that byte
            self._next += self.stride
        out = []
        for at in sorted(starts):
            stop = chunk.find(b"\n", at, n)
            rec = parse_line(chunk[at : stop if stop >= 0 else n])
            if rec is not None and (starts[at] or rec.get("type") != "step"):
                out.append(rec)
        return out
