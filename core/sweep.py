"""Hyper-parameter sweeps: `tuner run PRESET --sweep train.lr=1e-4,2e-4 --sweep lora.r=8,16`.

The grid runs point after point, each an ordinary run named after its values. The same command
(preset, --set, --sweep, --max-steps, --smoke) finds the same sweep again: finished points are
skipped, an interrupted one resumes from its latest checkpoint, the rest start. The record,
`<runs>/sweeps/<id>.json`, is rewritten atomically after every change (docs/run-directory.md).
`--seeds` shares the loop and summary: train.seed as the axis, no record, stops at a failure.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from core.config.loader import load_preset, parse_override
from core.errors import EXIT_FAILED, EXIT_INTERRUPTED, ConfigError, TunerError
from core.events import HEAD_BYTES, TAIL_BYTES, LineTail, parse_line
from core.runs import EVENTS_FILE, PROVENANCE_FILE, TMP_PREFIX, complete_checkpoints, is_run_dir, run_info
from core.secrets import scrub_obj

if TYPE_CHECKING:
    from core.train.run import RunOutcome

SWEEPS_DIR = "sweeps"  # under the runs folder: <id>.json (the record) and <id>.lock
SWEEP_FILE = "sweep.json"  # in each point's run directory: which sweep and point it is
BEST = {"best_val_loss": ("best val loss", ".4f"), "exec_accuracy": ("best exec accuracy", ".1%")}
STATUS_COLORS = {"running": "cyan", "finished": "green", "failed": "red", "interrupted": "yellow"}

# (overrides, run directory to resume or None, event hook) → how the run ended
RunPoint = Callable[[list[str], "Path | None", Callable[[dict[str, Any]], None]], "RunOutcome"]


@dataclass(frozen=True)
class Axis:
    """One `--sweep key=v1,v2,…`: the key, its values as typed and as parsed."""

    key: str
    raws: tuple[str, ...]
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Point:
    """One grid point: its overrides, a label for people and a slug for its run's name."""

    index: int
    values: tuple[tuple[str, str], ...]  # (key, value as typed)
    label: str  # "lr=1e-4,r=8"
    slug: str  # "lr_1e-4-r_8"

    @property
    def overrides(self) -> list[str]:
        """The point's own `key=value` overrides (applied after --set)."""
        return [f"{k}={v}" for k, v in self.values]


@dataclass
class Plan:
    """What to run: a preset, --set, the points; `id` names a sweep (None for --seeds: no record)."""

    preset: str
    sets: list[str]
    axes: list[Axis]
    points: list[Point]
    base_name: str
    id: str | None = None
    preset_sha256: str = ""
    noun: str = "point"
    max_steps: int | None = None  # --max-steps and --smoke: part of a sweep's identity, kept in its record
    smoke: bool = False

    def overrides(self, point: Point) -> list[str]:
        """Everything --set'ed for this point's run, its run name included."""
        name = json.dumps(f"{self.base_name}-{point.slug}")  # a TOML basic string
        return [*self.sets, *point.overrides, f"log.run_name={name}"]


def split_values(text: str) -> list[str]:
    """ "1e-4, 2e-4" → ["1e-4", "2e-4"]; commas inside [..], {..} or quotes do not split."""
    parts, current, depth, quote, escaped = [], "", 0, "", False
    for ch in text:
        if quote:
            escaped = not escaped and ch == "\\" and quote == '"'
            quote = "" if ch == quote and not escaped else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    return [*parts, current.strip()]


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def parse_axis(text: str) -> Axis:
    """`train.lr=1e-4,2e-4` → an Axis; each value is parsed exactly as `--set key=value` parses it."""
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--sweep {text!r}: expected key=v1,v2,…, e.g. --sweep train.lr=1e-4,2e-4")
    raws = split_values(rest)
    if raws == [""]:
        raise ConfigError(f"--sweep {text!r}: no values", hint="list them comma-separated: key=v1,v2")
    if "" in raws:
        raise ConfigError(f"--sweep {text!r}: an empty value", hint="remove the extra comma")
    values = [parse_override(f"{key}={raw}")[1] for raw in raws]
    seen: dict[str, str] = {}
    for raw, value in zip(raws, values, strict=True):
        if _canon(value) in seen:
            raise ConfigError(f"--sweep {text!r}: {raw!r} repeats {seen[_canon(value)]!r}")
        seen[_canon(value)] = raw
    return Axis(key, tuple(raws), tuple(values))


def parse_axes(texts: list[str], sets: list[str]) -> list[Axis]:
    """Every --sweep, checked: a key once, not also --set, not log.run_name (it names each point's run)."""
    axes = [parse_axis(t) for t in texts]
    keys = [a.key for a in axes]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(
                f"--sweep {key} is given twice", hint=f"give all its values at once: {key}=v1,v2"
            )
    set_keys = {".".join(parse_override(s)[0]) for s in sets}
    for key in keys:
        if key in set_keys:
            raise ConfigError(f"{key} is given by both --set and --sweep", hint="keep one of them")
        if key == "log.run_name":
            raise ConfigError("--sweep log.run_name: the runs are named after their points' values")
    return axes


def short_keys(keys: list[str]) -> dict[str, str]:
    """Each key's last part ("train.lr" → "lr"), or the whole key where two would look alike."""
    tails = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: t if tails.count(t) == 1 else k for k, t in zip(keys, tails, strict=True)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_") or "x"


def grid(axes: list[Axis]) -> list[Point]:
    """The cartesian product, the first axis varying slowest."""
    short = short_keys([a.key for a in axes])
    points = []
    for i, combo in enumerate(itertools.product(*(a.raws for a in axes))):
        values = tuple((a.key, raw) for a, raw in zip(axes, combo, strict=True))
        slug = "-".join(f"{_slug(short[k])}_{_slug(v)}" for k, v in values)
        if len(slug) > 60:  # a file name stays short; the record has the full values
            slug = f"{slug[:51]}-{hashlib.sha256(slug.encode()).hexdigest()[:8]}"
        points.append(Point(i, values, ",".join(f"{short[k]}={v}" for k, v in values), slug))
    return points


def _check_points(ref: str, plan: Plan) -> None:
    """Every point's preset validated (and checked against this device) before the first run starts."""
    checked: dict[str, str] = {}
    for point in plan.points:
        preset, _ = load_preset(ref, plan.overrides(point))  # the one-line errors --set gives
        if plan.smoke:
            continue  # --smoke swaps in a tiny model on a device of its own choosing
        from core.device import check_preset_for_device, select_device

        if preset.model.device not in checked:
            checked[preset.model.device] = select_device(preset.model.device)
        check_preset_for_device(preset, checked[preset.model.device])


def plan_sweep(
    ref: str, sets: list[str], sweeps: list[str], max_steps: int | None = None, smoke: bool = False
) -> Plan:
    """The sweep `tuner run REF --set … --sweep …` asks for, every point validated; raises ConfigError."""
    from core.config.loader import dump_preset
    from core.train.distributed import dist_info, slurm_launch_env

    if dist_info({**os.environ, **slurm_launch_env(os.environ)})[2] > 1:
        raise ConfigError("--sweep runs in one process, not under a launcher", hint="one launch per point")
    axes = parse_axes(sweeps, sets)
    base, path = load_preset(ref, sets)  # a --set error first, as without --sweep
    base_name = base.log.run_name or base.name
    sets_parsed = [[".".join(k), v] for k, v in map(parse_override, sets)]
    spec = [str(path.resolve()), sets_parsed, [[a.key, list(a.values)] for a in axes], max_steps, smoke]
    digest = hashlib.sha256(_canon(spec).encode()).hexdigest()[:8]
    plan = Plan(ref, list(sets), axes, grid(axes), base_name, f"{_slug(base_name)}-{digest}")
    plan.max_steps, plan.smoke = max_steps, smoke
    plan.preset_sha256 = hashlib.sha256(dump_preset(base).encode()).hexdigest()
    _check_points(ref, plan)
    return plan


def plan_seeds(ref: str, sets: list[str], seeds: list[int], smoke: bool = False) -> Plan:
    """`--seeds`: train.seed as the only axis, runs named `<name>-seed<N>`, no record."""
    raws = tuple(str(s) for s in seeds)
    axis = Axis("train.seed", raws, tuple(seeds))
    if "train.seed" in {".".join(parse_override(s)[0]) for s in sets}:
        raise ConfigError("train.seed is given by both --set and --seeds", hint="keep one of them")
    base, _ = load_preset(ref, sets)
    points = [Point(i, (("train.seed", raw),), f"seed={raw}", f"seed{raw}") for i, raw in enumerate(raws)]
    plan = Plan(ref, list(sets), [axis], points, base.log.run_name or base.name, noun="seed", smoke=smoke)
    _check_points(ref, plan)
    return plan


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (a reader sees the old file or the new one), secrets scrubbed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    tmp.write_text(json.dumps(scrub_obj(data), indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_record(path: Path) -> dict[str, Any] | None:
    """A record as written, or None when missing or damaged."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("points"), list) else None


def new_record(plan: Plan) -> dict[str, Any]:
    """A record for a plan whose points have not run."""
    now = time.time()
    return {
        "version": 1,
        "id": plan.id,
        "kind": "seeds" if plan.noun == "seed" else "sweep",
        "preset": plan.preset,
        "base_name": plan.base_name,
        "preset_sha256": plan.preset_sha256,
        "set": plan.sets,
        "max_steps": plan.max_steps,
        "smoke": plan.smoke,
        "sweep": [{"setting": a.key, "values": list(a.raws)} for a in plan.axes],
        "created": now,
        "updated": now,
        "status": "running",
        "points": [
            {"index": p.index, "label": p.label, "values": dict(p.values), "overrides": p.overrides}
            | dict(run=None, status="pending", error=None, earlier_runs=[], metrics={})
            for p in plan.points
        ],
    }


def merge_record(record: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """Carry each point's run and status over from an earlier record of the same sweep."""
    if old is None:
        return record
    by_overrides = {tuple(p.get("overrides") or ()): p for p in old.get("points", [])}
    for point in record["points"]:
        before = by_overrides.get(tuple(point["overrides"]))
        if before is not None:
            for k in ("run", "status", "error", "earlier_runs", "metrics"):
                point[k] = before.get(k, point[k])
    for k in ("created", "preset_sha256"):  # finished points ran the preset as it resolved at first
        record[k] = old.get(k, record[k])
    return record


@contextlib.contextmanager
def _running(path: Path | None) -> Iterator[None]:
    """One process per sweep (an OS lock on `<id>.lock`); between runs SIGTERM stops it as Ctrl-C does."""
    import fcntl
    import threading

    handle = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_suffix(".lock"), "a+", encoding="utf-8")  # noqa: SIM115 - closed below
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            who = handle.read().strip() or "another process"
            handle.close()
            raise TunerError(f"sweep {path.stem} is already running ({who})", kind="locked") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, frame: Any) -> None:  # during a run the trainer's own handler checkpoints first
        signal.signal(signal.SIGTERM, previous)  # a second one is the default again
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        if handle is not None:
            handle.truncate(0)
            handle.close()


def _mark_run(run_dir: Path, plan: Plan, point: Point, record_file: Path | None) -> None:
    """Write `sweep.json` into a point's run and `extra.sweep` into its provenance.json."""
    if plan.id is None or not run_dir.is_dir():
        return
    note = {"id": plan.id, "point": point.index, "values": dict(point.values)}
    _write_json(run_dir / SWEEP_FILE, {**note, "label": point.label, "record": str(record_file)})
    try:
        prov = json.loads((run_dir / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(prov, dict) and isinstance(prov.get("extra", {}), dict):
        prov.setdefault("extra", {})["sweep"] = note
        _write_json(run_dir / PROVENANCE_FILE, prov)


def decide(status: str | None, checkpoint_step: int | None) -> str:
    """What a point does given its run's status: skip, resume, start, or busy (another process trains it)."""
    if status == "finished":
        return "skip"
    if status == "running":
        return "busy"
    if status in ("interrupted", "unknown") and checkpoint_step is not None:
        return "resume"
    return "start"  # not run yet, failed (tried afresh), or killed before its first checkpoint


def _latest_step(run_dir: Path) -> int | None:
    done = complete_checkpoints(run_dir)
    return int(done[-1].name.rsplit("-", 1)[-1]) if done else None


def _free_memory() -> None:
    """What a finished point held (a failed one's traceback frames too) goes before the next loads."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class _Loop:
    plan: Plan
    record: dict[str, Any]
    root: Path
    path: Path | None
    say: Callable[[str], None]

    def save(self) -> None:
        if self.path is not None:
            self.record["updated"] = time.time()
            _write_json(self.path, self.record)

    def point(self, point: Point, run_point: RunPoint) -> tuple[str, int]:
        """Skip, resume or start one point: (skipped | busy | finished | failed | interrupted, exit code)."""
        entry = self.record["points"][point.index]
        head = f"[bold]{self.plan.noun} {point.index + 1}/{len(self.plan.points)}[/] {escape(point.label)}"
        run_dir = self.root / entry["run"] if entry.get("run") else None
        info, step = (
            (run_info(run_dir), _latest_step(run_dir)) if run_dir and is_run_dir(run_dir) else (None, None)
        )
        action = decide(info.status if info else None, step)
        if action == "skip":
            entry["status"] = "finished"
            self.say(f"{head}: skipped, finished ({escape(entry['run'])})")
            return "skipped", 0
        if action == "busy":
            assert info is not None
            self.say(f"{head}: left alone, {escape(info.name)} is running (pid {info.pid})")
            return "busy", EXIT_INTERRUPTED
        if action == "resume":
            self.say(f"{head}: resumed from step {step} ({escape(entry['run'])})")
        else:
            if info is not None:  # the earlier attempt is kept, listed in earlier_runs
                entry["earlier_runs"].append(entry["run"])
                entry["run"] = None
            self.say(f"{head}: started" + (f" (again: {escape(info.name)} {info.status})" if info else ""))
        resume = run_dir if action == "resume" else None

        def on_event(rec: dict[str, Any]) -> None:
            if rec.get("type") == "run_started" and rec.get("run_dir"):
                started = Path(rec["run_dir"])
                entry.update(run=started.name, status="running", error=None)
                _mark_run(started, self.plan, point, self.path)
                self.save()

        try:
            outcome = run_point([] if resume else self.plan.overrides(point), resume, on_event)
            status, code, error, ran = outcome.status, outcome.exit_code, outcome.error, outcome.run_dir
        except Exception as e:  # refused before it had a run directory (a lock held …), or a crash
            error = str(e) if isinstance(e, TunerError) else f"{type(e).__name__}: {e}"
            self.say(f"[bold red]error:[/] {escape(error)}")
            status, code, ran = "failed", EXIT_FAILED, resume
        if ran is not None and entry.get("run") != ran.name:
            entry["run"] = ran.name
            _mark_run(ran, self.plan, point, self.path)
        entry.update(status=status, error=error)
        if ran is not None and is_run_dir(ran):
            entry["metrics"] = run_metrics(ran)
        self.save()
        _free_memory()
        return status, code


def run_plan(plan: Plan, run_point: RunPoint, root: Path, con: Any) -> int:
    """Run a plan's points in order, then print one summary; the exit code says if any failed or it stopped."""
    from core.train.distributed import dist_info

    main = dist_info()[0] == 0  # --seeds under a launcher: every rank trains, rank 0 reports
    path = Path(root) / SWEEPS_DIR / f"{plan.id}.json" if plan.id else None
    with _running(path):
        old = read_record(path) if path is not None else None
        record = merge_record(new_record(plan), old)
        loop = _Loop(plan, record, Path(root), path, con.print if main else lambda *_: None)
        if path is not None:
            finished = sum(p["status"] == "finished" for p in record["points"])
            state = f"continued, {finished} of {len(plan.points)} finished" if old else "new"
            loop.say(f"[bold]sweep {plan.id}[/] ({state}): {escape(_grid_line(record))}; record: {path}")
            if old and old.get("preset_sha256") not in (None, plan.preset_sha256):
                loop.say(f"[yellow]note: {escape(plan.preset)} resolves differently than it did at first[/]")
        stop, failed, busy = 0, False, False
        try:
            for point in plan.points:
                status, code = loop.point(point, run_point)
                if status == "interrupted":  # Ctrl-C/SIGTERM: the run saved a checkpoint and stopped
                    stop = code or EXIT_INTERRUPTED
                    break
                busy = busy or status == "busy"
                if status == "failed":
                    failed = True
                    if plan.id is None:
                        break  # --seeds: a failure is rarely seed-dependent; the rest would burn a quota
        except KeyboardInterrupt:  # between runs (during one, the run stops itself and says so)
            stop = EXIT_INTERRUPTED
            for entry in record["points"]:
                if entry["status"] == "running":
                    entry["status"] = "interrupted"
        record["status"] = (
            "interrupted" if stop else "failed" if failed else "running" if busy else "finished"
        )
        loop.save()
        if main:
            render_summary(con, record, root)
            if stop and path is not None:
                con.print("[yellow]sweep stopped: the same command continues it[/]")
    return stop or (EXIT_FAILED if failed else EXIT_INTERRUPTED if busy else 0)


def last_eval(events: Path) -> dict[str, Any]:
    """The last `eval` event of a run (read from the file's head and tail window; all of it when needed)."""
    tail = LineTail(events, backlog=TAIL_BYTES, head=HEAD_BYTES)
    lines = [line for line in tail.poll() if b'"eval"' in line]
    if not lines and tail.skipped is not None:  # a long run whose last eval lies in the unread middle
        with open(events, "rb") as f:
            lines = [line for line in f if b'"eval"' in line and line.endswith(b"\n")]
    for line in reversed(lines):
        ev = parse_line(line)
        if ev is not None and ev.get("type") == "eval":
            return ev
    return {}


def run_metrics(run_dir: Path) -> dict[str, Any]:
    """Status, step, best and final val loss, and the last eval's exact match, syntax and exec accuracy."""
    info = run_info(run_dir)
    ev = last_eval(run_dir / EVENTS_FILE)
    # exec_accuracy/exec_rows came to eval events later: absent (None) in older runs
    scores = {k: ev.get(k) for k in ("exact_match", "syntax_valid", "exec_accuracy", "exec_rows")}
    status = {"status": info.status, "step": info.step, "max_steps": info.max_steps}
    return {**status, "best_val_loss": info.best_val_loss, "final_val_loss": ev.get("val_loss"), **scores}


def _grid_line(record: dict[str, Any]) -> str:
    axes = record.get("sweep") or []
    varied = " × ".join(f"{a['setting']} ({', '.join(a['values'])})" for a in axes if len(a["values"]) > 1)
    same = ", ".join(f"{a['setting']}={a['values'][0]}" for a in axes if len(a["values"]) == 1)
    n = len(record["points"])
    return f"varied {varied or 'nothing'}: {n} {'run' if n == 1 else 'runs'}" + (
        f"; the same in all: {same}" if same else ""
    )


def _fmt(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "–"


def render_summary(con: Any, record: dict[str, Any], root: Path) -> None:
    """The table of every point: its values, status, losses and eval scores; the best marked."""
    from rich import box
    from rich.measure import Measurement
    from rich.table import Table

    rows = []
    for entry in record["points"]:
        run_dir = Path(root) / entry["run"] if entry.get("run") else None
        fresh = run_dir is not None and is_run_dir(run_dir)
        metrics = run_metrics(run_dir) if run_dir and fresh else dict(entry.get("metrics") or {})
        rows.append((entry, (metrics.get("status") if fresh else entry["status"]) or "pending", metrics))
    done = [(e, m) for e, s, m in rows if s == "finished"]
    scored = {k: [(m[k], e["index"]) for e, m in done if m.get(k) is not None] for k in BEST}
    best = {k: (min if k == "best_val_loss" else max)(v)[1] if v else None for k, v in scored.items()}
    has_exec = any(m.get("exec_accuracy") is not None for _, _, m in rows)
    kind = record.get("kind", "sweep")
    name = f"sweep {record['id']}" if kind == "sweep" else str(record.get("base_name") or record["preset"])
    noun = "seeds" if kind == "seeds" else "points"
    table = Table(title=f"{name}: {len(done)} of {len(rows)} {noun} finished", box=box.SIMPLE_HEAD)
    keys = [a["setting"] for a in record.get("sweep", [])]
    short = short_keys(keys)
    for col in ["#", *(short[k] for k in keys), "status", "step", "best val", "final val", "exact"]:
        table.add_column(col, justify="left" if col == "status" else "right", no_wrap=True)
    table.add_column("valid bash", justify="right", no_wrap=True)
    if has_exec:
        table.add_column("exec", justify="right", no_wrap=True)
    table.add_column("run", overflow="fold")  # on a narrow terminal the name wraps, never cut
    for entry, status, m in rows:
        step = f"{m.get('step') or 0}/{m['max_steps']}" if m.get("max_steps") else _fmt(m.get("step"), "d")
        star = {k: " ★" if entry["index"] == best[k] else "" for k in BEST}
        cells = [
            str(entry["index"] + 1),
            *(escape(str(entry["values"].get(k, "–"))) for k in keys),
            f"[{STATUS_COLORS.get(status, 'white')}]{status}[/]",
            step,
            _fmt(m.get("best_val_loss"), ".4f") + star["best_val_loss"],
            _fmt(m.get("final_val_loss"), ".4f"),
            _fmt(m.get("exact_match"), ".1%"),
            _fmt(m.get("syntax_valid"), ".1%"),
        ]
        if has_exec:
            cells.append(_fmt(m.get("exec_accuracy"), ".1%") + star["exec_accuracy"])
        cells.append(escape(entry.get("run") or "–"))
        table.add_row(*cells)
    # into a file or pipe (a sweep under nohup) the table is as wide as it needs, not 80 columns
    width = con.width
    if not con.is_terminal:
        con.width = max(width, Measurement.get(con, con.options.update_width(1000), table).maximum)
    con.print(table)
    con.width = width
    con.print(_grid_line(record) + (f"; --set {' '.join(record['set'])}" if record.get("set") else ""))
    for k, (what, spec) in BEST.items():
        index = best[k]
        if index is not None:
            e, _, m = rows[index]
            con.print(f"★ {what}: {escape(e['label'])} ({format(m[k], spec)}, {escape(e['run'])})")
    if kind == "seeds":
        import statistics

        losses = [m["best_val_loss"] for _, m in done if m.get("best_val_loss") is not None]
        if len(losses) > 1:
            con.print(
                f"best val loss over {len(losses)} seeds: mean {statistics.mean(losses):.4f}, "
                f"std {statistics.stdev(losses):.4f}, min {min(losses):.4f}, max {max(losses):.4f}"
            )


def find_record(root: Path, ref: str) -> Path:
    """A sweep's record by id, unique id prefix, or "latest"."""
    folder = Path(root) / SWEEPS_DIR
    found = sorted(p for p in folder.glob("*.json") if not p.name.startswith(TMP_PREFIX))
    hint = f"sweeps: {', '.join(p.stem for p in found[-5:])}, or latest" if found else "none yet"
    if ref == "latest" and found:
        return max(found, key=lambda p: p.stat().st_mtime)
    matches = [p for p in found if p.stem == ref] or [p for p in found if p.stem.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(p.stem for p in matches[:5])
    what = f"{ref!r} matches several sweeps: {names}" if matches else f"no sweep {ref!r} in {folder}"
    raise TunerError(what, kind="config", hint=hint)


def show_sweep(con: Any, root: Path, ref: str) -> int:
    """`tuner runs --sweep ID`: the summary table of a sweep, from its record and its runs as they are now."""
    path = find_record(root, ref)
    record = read_record(path)
    if record is None:
        raise TunerError(f"{path} is not a sweep record (damaged?)", kind="config")
    con.print(f"record: {path} ({record.get('status', '?')})")
    render_summary(con, record, root)
    return 0
