"""What the Runs pane's comparison shows about several runs: curves, final metrics, preset differences.

Plain Python (no Textual), called from a worker thread. Each run is read the way the monitor
reads one — `tuner_tui.watch.RunWatch` (core's EventTail, core.run_status's fold, the same
status rules as `tuner runs`) — until its whole history is folded; the resolved preset comes
from `core.run_model.read_run_preset`. Formatting for the tables lives here too, so it is
tested without a screen.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.units import fmt_seconds
from tuner_tui.fmt import fmt_num, fmt_rate
from tuner_tui.run_state import Series
from tuner_tui.watch import RunView, RunWatch

MISSING = "–"  # a value the run directory does not give
READ_SECONDS = 30.0  # per run: a huge events file is compared on what was read by then (flagged)


@dataclass
class ComparedRun:
    """One run's curves, final figures and flattened resolved preset."""

    name: str
    path: Path
    status: str
    step: int | None = None
    max_steps: int | None = None
    train_loss: Series = field(default_factory=list)
    val_loss: Series = field(default_factory=list)
    exec_accuracy: Series = field(default_factory=list)
    best_val_loss: float | None = None
    final_val_loss: float | None = None
    exact_match: float | None = None
    exact_match_rows: int | None = None
    syntax_valid: float | None = None
    exec_rows: int | None = None
    tokens_per_s: float | None = None  # median over the logged windows (a glitched window is one of many)
    wall_s: float | None = None
    preset: dict[str, Any] = field(default_factory=dict)  # "train.lr" → 0.0001
    preset_note: str | None = None  # why the preset is missing or read unvalidated
    partial: bool = False  # the events file was too long to read whole in READ_SECONDS

    @property
    def exec_accuracy_last(self) -> float | None:
        """The latest measured exec accuracy (None when the run never measured it)."""
        return self.exec_accuracy[-1][1] if self.exec_accuracy else None


@dataclass
class MetricRow:
    """One row of the metrics table: a label, a cell per run, and the indexes of the best runs (ties share)."""

    label: str
    cells: list[str]
    best: tuple[int, ...] = ()


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _float(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys ("train.lr"); lists stay values."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def read_preset(run_dir: Path) -> tuple[dict[str, Any], str | None]:
    """The run's resolved preset, flattened, and a note when it is missing or does not validate."""
    from core.config.loader import read_toml
    from core.errors import TunerError
    from core.run_model import read_run_preset
    from core.runs import PRESET_FILE

    try:
        return flatten(read_run_preset(run_dir).model_dump(mode="json")), None
    except TunerError as e:
        if not (Path(run_dir) / PRESET_FILE).is_file():
            return {}, f"no {PRESET_FILE}"
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        note = f"{PRESET_FILE} does not validate ({first}): compared as written"
    except Exception as e:  # an unreadable file must not sink the other runs' comparison
        return {}, f"cannot read {PRESET_FILE}: {e}"
    try:
        # An older schema: the file's own keys still say what was trained with.
        return flatten(read_toml(Path(run_dir) / PRESET_FILE)), note
    except Exception as e:
        return {}, f"cannot read {PRESET_FILE}: {e}"


def _last_value(series: Series) -> float | None:
    return series[-1][1] if series else None


def from_view(view: RunView) -> ComparedRun:
    """The figures of one folded run (no IO)."""
    last_val = view.last_val or {}
    final = view.final or {}
    last_step = view.last_step or {}
    wall = _float(final.get("elapsed_s")) if final.get("type") == "finished" else None
    if wall is None:
        wall = _float(last_step.get("elapsed_s"))
    rates = [y for _, y in view.tokens_per_s]
    return ComparedRun(
        name=view.name,
        path=Path(view.run_dir) if view.run_dir is not None else Path(view.name),
        status=view.status,
        step=view.step,
        max_steps=view.max_steps,
        train_loss=list(view.train_loss),
        val_loss=list(view.val_loss),
        exec_accuracy=list(view.exec_accuracy),
        best_val_loss=view.best_val,
        final_val_loss=_last_value(view.val_loss),
        # The latest measured figure: an eval cut short by a stop has none, the one before counts.
        exact_match=_last_value(view.exact_match),
        exact_match_rows=_int(last_val.get("exact_match_rows")),
        syntax_valid=_float(last_val.get("syntax_valid")),
        exec_rows=_int(last_val.get("exec_rows")),
        tokens_per_s=statistics.median(rates) if rates else None,
        wall_s=wall,
        partial=view.partial,
    )


def _fold(watch: RunWatch, now: float | None, budget: float) -> RunView:
    """Poll until the whole file is folded (or `budget` seconds passed)."""
    deadline = time.monotonic() + budget
    watch.poll(now=now)
    # A long file's first poll reads only its head and tail; each further poll folds a slice of
    # the middle (at most 0.1 s), so the curves are whole once `partial` clears.
    view = watch.view()
    while view.partial and time.monotonic() < deadline:
        watch.poll(now=now)
        view = watch.view()
    return view


def read_run(run_dir: Path, now: float | None = None, budget: float = READ_SECONDS) -> ComparedRun:
    """(IO) Fold a run's whole events file and read its preset."""
    run = from_view(_fold(RunWatch(run_dir, series=True, log=False), now, budget))
    run.preset, run.preset_note = read_preset(Path(run_dir))
    return run


class RunsReader:
    """Follows the compared runs: reading them again costs only what their event files gained."""

    def __init__(self, paths: Sequence[Path], budget: float = READ_SECONDS) -> None:
        self.paths = [Path(p) for p in paths]
        self.budget = budget
        self._watches = {p: RunWatch(p, series=True, log=False) for p in self.paths}
        self._presets: dict[Path, tuple[float | None, tuple[dict[str, Any], str | None]]] = {}

    def _preset(self, run_dir: Path) -> tuple[dict[str, Any], str | None]:
        from core.runs import PRESET_FILE

        try:
            mtime: float | None = (run_dir / PRESET_FILE).stat().st_mtime
        except OSError:
            mtime = None
        cached = self._presets.get(run_dir)
        if cached is None or cached[0] != mtime:  # validating a preset costs ~ms: only when it changed
            cached = self._presets[run_dir] = (mtime, read_preset(run_dir))
        return cached[1]

    def read(self, now: float | None = None) -> list[ComparedRun]:
        """(IO) Every run, in the order given."""
        runs = []
        for path in self.paths:
            run = from_view(_fold(self._watches[path], now, self.budget))
            run.preset, run.preset_note = self._preset(path)
            runs.append(run)
        return runs


def read_runs(paths: Sequence[Path], now: float | None = None) -> list[ComparedRun]:
    """(IO) Every run, in the order given, read once."""
    return RunsReader(paths).read(now)


# ---------------------------------------------------------------------------------- tables


def _pct(v: float | None, rows: int | None = None) -> str:
    if v is None:
        return MISSING
    return f"{v:.1%}" + (f" of {rows}" if rows else "")


def _best(values: list[float | None], pick: Callable[[list[float]], float]) -> tuple[int, ...]:
    """The indexes of the best value, when at least two runs have one and they are not all equal."""
    known = [v for v in values if v is not None]
    if len(known) < 2 or len(set(known)) == 1:
        return ()
    top = pick(known)
    return tuple(i for i, v in enumerate(values) if v == top)


def metric_rows(runs: Sequence[ComparedRun]) -> list[MetricRow]:
    """The final figures side by side; the best of each comparable figure is marked."""

    def steps(r: ComparedRun) -> str:
        if r.max_steps:
            return f"{r.step or 0}/{r.max_steps}"
        return str(r.step) if r.step is not None else MISSING

    rows = [
        MetricRow("status", [r.status + (" (partly read)" if r.partial else "") for r in runs]),
        MetricRow("steps", [steps(r) for r in runs]),
    ]

    def add(label: str, values: list[float | None], fmt: Callable[[int], str], higher: bool) -> None:
        rows.append(
            MetricRow(label, [fmt(i) for i in range(len(runs))], _best(values, max if higher else min))
        )

    best = [r.best_val_loss for r in runs]
    add("best val loss", best, lambda i: fmt_num(best[i]), higher=False)
    final = [r.final_val_loss for r in runs]
    add("final val loss", final, lambda i: fmt_num(final[i]), higher=False)
    em = [r.exact_match for r in runs]
    add("exact match", em, lambda i: _pct(em[i], runs[i].exact_match_rows), higher=True)
    syntax = [r.syntax_valid for r in runs]
    add("syntax valid", syntax, lambda i: _pct(syntax[i]), higher=True)
    ex = [r.exec_accuracy_last for r in runs]
    add("exec accuracy", ex, lambda i: _pct(ex[i], runs[i].exec_rows), higher=True)
    tps = [r.tokens_per_s for r in runs]
    add("tokens/s", tps, lambda i: fmt_rate(tps[i]), higher=True)
    rows.append(MetricRow("wall time", [fmt_seconds(r.wall_s) for r in runs]))
    return rows


def fmt_value(value: Any) -> str:
    """A preset value as it reads in TOML (strings bare, lists and tables compact)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


_ABSENT = object()


def preset_diff(presets: Sequence[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(key, a value per run) for each key whose values differ across the runs; "–" where a run lacks it."""
    keys: dict[str, None] = {}
    for p in presets:
        keys.update(dict.fromkeys(p))  # first-seen order: the preset's own section order
    rows = []
    for key in keys:
        values = [p.get(key, _ABSENT) for p in presets]
        shown = [MISSING if v is _ABSENT else fmt_value(v) for v in values]
        if len(set(shown)) > 1:
            rows.append((key, shown))
    return rows
