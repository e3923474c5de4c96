"""Following runs through their directories: the ONE tailing mechanism of the TUI.

Every run is followed with `core.events.EventTail` (byte offset, partial last line buffered,
restart on truncation). `RunWatch.poll()` is meant to run in a worker thread on a timer: it
reads whatever arrived since the last poll (a burst of hundreds of events included), folds it
into a `tuner_tui.run_state.RunState` (core's RunStatus fold plus chart series), and returns
one `RunView` snapshot, so the UI applies a burst in a single update. The status rules are
core.runs.run_info's. Nothing here imports textual (it is plain, testable Python).

Opening a long run costs the same as a short one: the first read takes only the first and last
bytes of events.jsonl (core.events.HEAD_BYTES, TAIL_BYTES), enough for the header, the status
and dense recent charts; later polls read the skipped middle in slices (core.events.HistoryScan:
every eval, checkpoint, warning and resume, and a sample of the steps) and swap the complete
history in when done.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EXIT_FINISHED, EXIT_INTERRUPTED, EXIT_KILLED
from core.events import HEAD_BYTES, TAIL_BYTES, EventTail, HistoryScan, LineTail, read_range
from core.run_lock import read_holder
from core.runs import EVENTS_FILE, LOG_FILE, PRESET_FILE, PROVENANCE_FILE, pid_alive
from tuner_tui.run_state import MAX_POINTS, RunState, Series

if TYPE_CHECKING:
    from core.runs import RunInfo
    from tuner_tui.launcher import Launch

# How much of an existing log file is read when a run is first opened.
LOG_BACKLOG_BYTES = 64 * 1024
# A long file's unread middle is read in blocks of HISTORY_BLOCK bytes (the memory it costs),
# for up to HISTORY_SECONDS per poll (~100 MB/s here: a million events take a few polls).
HISTORY_BLOCK = 8 * 1024 * 1024
HISTORY_SECONDS = 0.1
QUIET_EXITS = (EXIT_FINISHED, EXIT_INTERRUPTED, EXIT_KILLED)  # how a run ends normally: no output tail shown


class LogTail(LineTail):
    """New complete lines of a growing text file (train.log, a launch log); starts near the end."""

    def __init__(self, path: str | os.PathLike[str], backlog: int = LOG_BACKLOG_BYTES) -> None:
        super().__init__(path, backlog=backlog)

    def poll(self) -> list[str]:  # type: ignore[override]
        """Lines completed since the last poll (one stat when nothing changed)."""
        return [ln.decode("utf-8", "replace").rstrip("\r") for ln in super().poll()]


@dataclass
class RunView:
    """An immutable-by-convention snapshot of one run for the UI thread."""

    run_dir: Path | None
    name: str
    status: str
    started: dict[str, Any] | None
    final: dict[str, Any] | None
    last_step: dict[str, Any] | None
    step: int | None
    max_steps: int | None
    train_loss: Series
    val_loss: Series
    lr: Series
    tokens_per_s: Series
    rss: Series
    accel: Series
    exact_match: Series
    samples: dict[str, Any] | None
    warnings: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    best_val: float | None
    best_step: int | None
    last_val: dict[str, Any] | None
    events: int
    last_event_time: float | None
    pid: int | None
    preset: str | None = None
    model: str | None = None
    launch_pid: int | None = None
    launch_returncode: int | None = None
    stopping: bool = False  # a stop was sent or acknowledged and the run has not ended yet
    log_source: str = ""
    partial: bool = False  # a long file's middle is still being read: charts show its start and its end
    exec_accuracy: Series = field(default_factory=list)  # eval events with exec_accuracy (eval.exec)


@dataclass
class WatchUpdate:
    """What one poll found: the snapshot, new log lines, and whether the UI must start over."""

    view: RunView
    log_lines: list[str] = field(default_factory=list)
    reset: bool = False  # the event file or log restarted: clear what was shown
    new_events: int = 0  # events folded by this poll (new ones, or the history of a long file)


class RunWatch:
    """Follow one run directory (or a launch whose run directory does not exist yet).

    `poll()` is called from one worker thread at a time (guarded by a lock): it does all file
    IO and returns a WatchUpdate, or None when nothing changed.
    """

    PID_CHECK_EVERY = 2.0  # seconds between liveness checks of a running trainer

    def __init__(
        self,
        run_dir: str | os.PathLike[str] | None,
        launch: Launch | None = None,
        *,
        series: bool = True,
        log: bool = True,
    ) -> None:
        self.launch = launch
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.state = RunState(series)
        self.follow_log = log
        self._lock = threading.Lock()
        self._tail: EventTail | None = None
        self._history: tuple[HistoryScan, RunState] | None = None  # the middle being read, and its fold
        self._log: LogTail | None = None
        self._log_source = ""
        self._resets = 0
        self._status: str | None = None
        self._pid_checked = -1e9
        self._alive = False
        self._holder: int | None = (
            None  # the live lock holder's pid, looked up when a read skipped the middle
        )
        self._preset: tuple[str | None, str | None] | None = None
        self._prov_pid: int | None = None
        self._last_sig: tuple[Any, ...] | None = None
        self._exit_reported = False
        self.stop_sent = False  # Stop confirmed in this TUI: show "stopping…" before the trainer says so
        if self.run_dir is not None:
            self._open(self.run_dir)
        elif launch is not None and log:
            self._log = LogTail(launch.log_path)
            self._log_source = "launch"

    @property
    def name(self) -> str:
        if self.run_dir is not None:
            return self.run_dir.name
        if self.launch is not None:
            return f"{self.launch.label} (starting)"
        return "–"

    def _open(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._tail = EventTail(run_dir / EVENTS_FILE, backlog=TAIL_BYTES, head=HEAD_BYTES)
        if self._log_source == "launch":
            return  # keep showing tuner's own output until train.log has something (see _switch_log)
        self._log = LogTail(run_dir / LOG_FILE) if self.follow_log else None
        self._log_source = "train.log" if self.follow_log else ""

    def _switch_log(self) -> bool:
        """From the launch output to train.log, once train.log has content (True when switched)."""
        if self._log_source != "launch" or self.run_dir is None:
            return False
        try:
            if (self.run_dir / LOG_FILE).stat().st_size == 0:
                return False
        except OSError:
            return False
        self._log = LogTail(self.run_dir / LOG_FILE)
        self._log_source = "train.log"
        return True

    def _provenance_pid(self) -> int | None:
        if self._prov_pid is None and self.run_dir is not None:
            import json

            try:
                data = json.loads((self.run_dir / PROVENANCE_FILE).read_text(encoding="utf-8"))
                self._prov_pid = data.get("pid") if isinstance(data, dict) else None
            except (OSError, ValueError):
                pass
        return self._prov_pid

    def _preset_summary(self) -> tuple[str | None, str | None]:
        if self._preset is None and self.run_dir is not None and (self.run_dir / PRESET_FILE).is_file():
            import tomllib

            try:
                data = tomllib.loads((self.run_dir / PRESET_FILE).read_text(encoding="utf-8"))
                model = data.get("model", {})
                self._preset = (data.get("name"), model.get("id") if isinstance(model, dict) else None)
            except (OSError, ValueError):
                self._preset = (None, None)
        return self._preset or (None, None)

    def _derive_status(self, now: float) -> str:
        """The run_info rules (final event, else pid liveness), plus "starting" for our own launches."""
        summary = self.state.summary
        launch_alive = False
        if self.launch is not None:
            self.launch.poll()
            launch_alive = self.launch.returncode is None
            newest = max((rec.get("time") or 0.0) for rec in (summary.started or {}, summary.final or {}))
            if launch_alive and newest < self.launch.started:
                return "starting"  # launched (or resumed) by us, still loading data and model
        final = summary.final_status
        if final is not None:
            return final
        pid = summary.pid or self._provenance_pid()
        if pid is None:
            if self.launch is not None:
                return "starting" if launch_alive else "failed"
            return "unknown"
        tick = time.monotonic()  # not `now`: tests freeze the clock, liveness must still be re-checked
        if tick - self._pid_checked >= self.PID_CHECK_EVERY or self._status is None:
            started = summary.started_time
            # The last run_started may lie in a skipped middle (a resume long ago), so its pid is
            # unknown: whoever holds the run's lock is the trainer (core.runs.run_info's rule).
            holder = read_holder(self.run_dir) if summary.skipped and self.run_dir is not None else None
            self._holder = holder[0] if holder is not None and pid_alive(*holder) else None
            self._alive = self._holder is not None or pid_alive(pid, started)
            self._pid_checked = tick
        if self._alive:
            return "running" if summary.started else "starting"
        return "interrupted"

    def _launch_exit_lines(self) -> list[str]:
        """When our launch ended with an error, the end of its output (the error is there)."""
        launch = self.launch
        if launch is None or launch.returncode in (None, *QUIET_EXITS) or self._exit_reported:
            return []
        self._exit_reported = True
        if self._log_source == "launch":
            return [f"── tuner exited with code {launch.returncode} ──"]
        try:
            tail = launch.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        except OSError:
            tail = []
        return [f"── tuner exited with code {launch.returncode}; its output: ──"] + ["» " + ln for ln in tail]

    def set_launch(self, launch: Launch) -> None:
        """Follow a new process for this run (a resume)."""
        with self._lock:
            self.launch = launch
            self._exit_reported = False
            self.stop_sent = False
            self._pid_checked = -1e9

    def poll(self, now: float | None = None) -> WatchUpdate | None:
        """Read what arrived since the last poll; None when nothing changed."""
        now = time.time() if now is None else now
        with self._lock:
            reset = False
            if self.run_dir is None and self.launch is not None:
                from tuner_tui.launcher import find_run_dir

                found = find_run_dir(self.launch)
                if found is not None:
                    self._open(found)
            if self._switch_log():
                reset = True  # the log pane goes from tuner's output to train.log
            records: list[dict[str, Any]] = []
            history = 0
            if self._tail is not None:
                history = self._backfill()  # first: what arrives now is folded on top of it
                records = self._tail.poll()
                if self._tail.resets != self._resets:
                    self._resets = self._tail.resets
                    self.state.reset()
                    self._history = None
                    reset = True
                self._fold(records)
            lines = self._log.poll() if self._log is not None else []
            status = self._derive_status(now)
            lines += self._launch_exit_lines()
            if self._log is not None and self._log.resets:
                self._log.resets = 0
                reset = True
            sig = (status, self.state.events, self.run_dir, self.stop_sent)
            changed = reset or bool(records) or bool(history) or bool(lines) or sig != self._last_sig
            self._status = status
            self._last_sig = sig
            if not changed:
                return None
            return WatchUpdate(self.view(), lines, reset, len(records) + history)

    def _fold(self, records: list[dict[str, Any]]) -> None:
        """Fold a poll's events; after a windowed first read, start reading the skipped middle."""
        assert self._tail is not None
        gap = self._tail.gap_at
        if gap is None:
            self.state.apply(records)
            return
        head = records[:gap]
        self.state.apply(head)
        self.state.skip()
        self.state.apply(records[gap:])
        if self.state.keep_series and self._tail.skipped is not None:
            history = RunState()
            history.apply(head)
            self._history = (HistoryScan(self._tail.path, *self._tail.skipped, points=MAX_POINTS), history)

    def _backfill(self) -> int:
        """Fold the next slice of the skipped middle; once it is whole, it becomes the state (events folded)."""
        if self._history is None or self._tail is None:
            return 0
        scan, history = self._history
        deadline = time.monotonic() + HISTORY_SECONDS
        while not scan.done and time.monotonic() < deadline:
            history.apply(scan.read(HISTORY_BLOCK))
        if not scan.done:
            return 0
        # The window the first read parsed, and what came since, on top of the middle (bounded:
        # the tail window plus what a few polls brought).
        history.apply(read_range(self._tail.path, scan.end, self._tail.consumed))
        self._history = None
        self.state = history
        return max(1, history.events)

    def view(self) -> RunView:
        """A snapshot (list copies) of the current state."""
        s, summary = self.state, self.state.summary
        preset, model = (summary.preset, summary.model) if summary.started else self._preset_summary()
        return RunView(
            run_dir=self.run_dir,
            name=self.name,
            status=self._status or "unknown",
            stopping=(summary.stopping or self.stop_sent) and summary.final is None,
            started=summary.started,
            final=summary.final,
            last_step=s.last_step,
            step=summary.step,
            max_steps=summary.max_steps,
            train_loss=list(s.train_loss),
            val_loss=list(s.val_loss),
            lr=list(s.lr),
            tokens_per_s=list(s.tokens_per_s),
            rss=list(s.rss),
            accel=list(s.accel),
            exact_match=list(s.exact_match),
            exec_accuracy=list(s.exec_accuracy),
            samples=s.samples,
            warnings=list(s.warnings),
            checkpoints=list(s.checkpoints),
            best_val=summary.best_val,
            best_step=summary.best_step,
            last_val=s.last_val,
            events=s.events,
            last_event_time=s.last_event_time,
            pid=self._holder
            or summary.pid
            or self._provenance_pid()
            or (self.launch.pid if self.launch else None),
            preset=preset,
            model=model,
            launch_pid=self.launch.pid if self.launch else None,
            launch_returncode=self.launch.returncode if self.launch else None,
            log_source=self._log_source,
            partial=self._history is not None,
        )

    def info(self) -> RunInfo:
        """The runs-list summary, by the same rules as core.runs.run_info (call after poll())."""
        from core.runs import RunInfo

        s = self.state.summary
        assert self.run_dir is not None
        preset, model = self._preset_summary()
        if s.started:
            preset, model = s.preset or preset, s.model or model
        started = s.started_time
        if started is None:
            started = self._provenance_created() or _mtime(self.run_dir / PRESET_FILE) or _mtime(self.run_dir)
        return RunInfo(
            name=self.run_dir.name,
            path=self.run_dir,
            preset=preset,
            model=model,
            status=self._status or "unknown",
            stopping=(s.stopping or self.stop_sent) and s.final is None,
            step=s.step,
            max_steps=s.max_steps,
            best_val_loss=s.best_val,
            last_loss=s.last_loss,
            started=started,
            updated=_mtime(self.run_dir / EVENTS_FILE),
            pid=self._holder or s.pid or self._provenance_pid(),
        )

    def _provenance_created(self) -> float | None:
        import json

        if self.run_dir is None:
            return None
        try:
            data = json.loads((self.run_dir / PROVENANCE_FILE).read_text(encoding="utf-8"))
            created = data.get("created") if isinstance(data, dict) else None
            return float(created) if isinstance(created, (int, float)) else None
        except (OSError, ValueError):
            return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


class RunsScanner:
    """The runs list, followed incrementally: one summary-only RunWatch (EventTail) per run directory.

    `scan()` costs one stat per unchanged run (plus a pid check per running run every few
    seconds) instead of re-reading every events file: a long run's file can be tens of MB.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.watches: dict[Path, RunWatch] = {}

    def scan(self, now: float | None = None) -> list[RunInfo]:
        from core.runs import is_run_dir

        try:
            dirs = [p for p in self.root.iterdir() if not p.name.startswith(".") and is_run_dir(p)]
        except OSError:
            dirs = []
        infos = []
        for path in dirs:
            watch = self.watches.get(path)
            if watch is None:
                watch = self.watches[path] = RunWatch(path, series=False, log=False)
            watch.poll(now=now)
            infos.append(watch.info())
        for gone in set(self.watches) - set(dirs):
            del self.watches[gone]
        return sorted(infos, key=lambda r: (r.started or 0.0, r.name), reverse=True)
