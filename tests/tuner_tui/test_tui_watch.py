"""Run following without a UI: RunState folding, RunWatch status, LogTail, charts, history."""

from __future__ import annotations

import json
import os

from tui_support import FAILED_RUN, FINISHED_RUN, FIXED_NOW, run_started, step_event, write_events

from tuner_tui.history import PromptHistory
from tuner_tui.watch import LogTail, RunState, RunWatch
from tuner_tui.widgets.chart import ChartSeries, render_histogram, render_line_chart, robust_range


def test_finished_fixture_folds_into_series(runs_dir):
    watch = RunWatch(runs_dir / FINISHED_RUN)
    update = watch.poll(now=FIXED_NOW)
    view = update.view
    assert view.status == "finished"
    assert view.step == 10 and view.max_steps == 10
    assert [s for s, _ in view.train_loss] == [2, 4, 6, 8, 10]
    assert [s for s, _ in view.val_loss] == [5, 10]
    assert view.best_val is not None and abs(view.best_val - 2.4489169) < 1e-6
    assert view.samples["step"] == 10
    assert len(view.checkpoints) == 2
    assert update.log_lines and "finished at step 10" in update.log_lines[-1]
    assert watch.poll(now=FIXED_NOW) is None  # nothing new: nothing to redraw


def test_failed_fixture(runs_dir):
    view = RunWatch(runs_dir / FAILED_RUN).poll(now=FIXED_NOW).view
    assert view.status == "failed"
    assert view.final["kind"] == "oom"
    assert len(view.accel) == 3 and view.warnings[0]["kind"] == "throughput"


def test_growing_file_bursts_are_one_update(live_run):
    watch = RunWatch(live_run)
    first = watch.poll()
    assert first.view.status == "running"
    write_events(live_run / "events.jsonl", [step_event(i) for i in range(1, 1001)])
    update = watch.poll()
    assert update.new_events == 1000
    assert update.view.step == 1000
    assert len(update.view.train_loss) == 1000


def test_long_runs_keep_a_bounded_thinned_series(live_run):
    from tuner_tui.watch import MAX_POINTS

    watch = RunWatch(live_run)
    write_events(live_run / "events.jsonl", [step_event(i, max_steps=50_000) for i in range(1, 50_001)])
    view = watch.poll().view
    steps = [s for s, _ in view.train_loss]
    assert len(steps) <= MAX_POINTS and steps == sorted(steps)
    assert steps[0] == 1 and steps[-1] == 50_000
    assert steps[-10:] == list(range(49_991, 50_001))  # recent points stay dense


def test_partial_last_line_waits_for_newline(live_run):
    watch = RunWatch(live_run)
    watch.poll()
    line = json.dumps(step_event(1))
    with open(live_run / "events.jsonl", "a") as f:
        f.write(line[:20])
    assert watch.poll() is None or watch.state.step is None
    with open(live_run / "events.jsonl", "a") as f:
        f.write(line[20:] + "\n")
    assert watch.poll().view.step == 1


def test_replaced_file_starts_over(live_run):
    watch = RunWatch(live_run)
    write_events(live_run / "events.jsonl", [step_event(i) for i in range(1, 6)])
    assert watch.poll().view.step == 5
    (live_run / "events.jsonl").write_text(json.dumps(run_started(live_run, os.getpid())) + "\n")
    update = watch.poll()
    assert update.reset and update.view.step is None and update.view.train_loss == []


def test_dead_pid_without_final_event_is_interrupted(tmp_path):
    run = tmp_path / "r-20261121-000000"
    run.mkdir()
    write_events(run / "events.jsonl", [run_started(run, 4194399), step_event(1)])
    assert RunWatch(run).poll().view.status == "interrupted"


def test_resume_drops_steps_after_the_checkpoint():
    state = RunState()
    state.apply([{"v": 1, "type": "run_started", "time": 1.0, "pid": 1, "max_steps": 20}])
    state.apply([step_event(s, 20) for s in range(1, 15)])
    resumed = {"v": 1, "type": "run_started", "time": 2.0, "pid": 2, "max_steps": 20,
               "resumed_from": "/x/checkpoints/checkpoint-10"}
    state.apply([resumed, step_event(11, 20)])
    assert [s for s, _ in state.train_loss] == list(range(1, 12))
    assert state.final is None


def test_log_tail_starts_near_the_end(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(f"line {i}\n" for i in range(20000)))
    tail = LogTail(log, backlog=1000)
    lines = tail.poll()
    assert lines[-1] == "line 19999" and len(lines) < 200
    with open(log, "a") as f:
        f.write("next\npart")
    assert tail.poll() == ["next"]
    with open(log, "a") as f:
        f.write("ial\n")
    assert tail.poll() == ["partial"]


def test_line_chart_has_requested_size_and_clamps_outliers():
    s = ChartSeries("tps", [(i, 180.0 + i % 3) for i in range(1, 30)] + [(30, 1e12)], "green")
    text = render_line_chart([s], 40, 8, robust=True)
    lines = text.plain.splitlines()
    assert len(lines) == 8 and all(len(line) <= 40 for line in lines)
    top_label = lines[0].split("┤")[0].strip()
    assert "e+" not in top_label  # the 1e12 glitch does not set the scale
    lo, hi = robust_range([1.0, 2.0, 3.0, 1e12])
    assert hi == 3.0


def test_empty_chart_says_so():
    assert "waiting" in render_line_chart([], 40, 6).plain


def test_histogram_marks_rows_over_the_limit():
    text = render_histogram([10, 20, 30, 300], 40, 6, limit=256)
    assert "max_seq_len 256" in text.plain
    assert any(span.style == "red" for span in text.spans)


def test_history_walks_and_persists(tmp_path):
    path = tmp_path / "h.jsonl"
    h = PromptHistory(path)
    for p in ("one", "two", "two", "three"):
        h.add(p)
    assert h.entries == ["one", "two", "three"]
    assert h.previous("draft") == "three"
    assert h.previous("") == "two"
    assert h.next() == "three"
    assert h.next() == "draft"
    again = PromptHistory(path)
    assert again.entries == ["one", "two", "three"]


def test_runs_scanner_agrees_with_core_list_runs(runs_dir, live_run, tmp_path):
    import shutil

    from core.runs import list_runs
    from tuner_tui.watch import RunsScanner

    shutil.copytree(live_run, runs_dir / live_run.name)
    fresh = runs_dir / "new-20261121-111111"
    fresh.mkdir()
    (fresh / "preset.toml").write_text('name = "new"\n[model]\nid = "x/y"\n')
    scanner = RunsScanner(runs_dir)
    for _ in range(2):  # the second scan reuses the tails
        mine = scanner.scan()
        core = list_runs(runs_dir)
        fields = ("name", "preset", "model", "status", "step", "max_steps", "best_val_loss", "last_loss", "pid")
        assert [[getattr(r, f) for f in fields] for r in mine] == [[getattr(r, f) for f in fields] for r in core]
        assert [r.started for r in mine] == [r.started for r in core]
    assert {r.status for r in mine} == {"finished", "failed", "running", "unknown"}


def test_memory_budget_rendering_accepts_the_core_estimate_shapes():
    from dataclasses import dataclass

    from tuner_tui.backend import MemoryBudget
    from tuner_tui.panes.presets import render_budget

    @dataclass
    class Estimate:
        components: list
        total: int
        assumptions: list

    est = Estimate([("weights", 540 * 2**20, "float32"), ("optimizer", 40 * 2**20, "AdamW"),
                    ("activations", 300 * 2**20, "batch 8 × 256")], 880 * 2**20, ["no gradient checkpointing"])
    fits = render_budget(MemoryBudget(estimate=est, device=("CPU RAM", 16 * 2**30)))
    too_big = render_budget(MemoryBudget(estimate=est, device=("GPU", 512 * 2**20)))
    from rich.console import Console

    def text(r):
        import io

        c = Console(width=100, record=True, color_system=None, file=io.StringIO())
        c.print(r)
        return c.export_text()

    assert "weights" in text(fits) and "✓ fits" in text(fits) and "no gradient checkpointing" in text(fits)
    assert "does not fit" in text(too_big)
    assert "not in this build" in text(render_budget(MemoryBudget(reason="not in this build")))


def test_validation_errors_map_to_fields():
    from tuner_tui.panes.presets import field_errors

    per, rest = field_errors(
        "p.toml: 'train.lr' = -1.0: Input should be greater than 0\n"
        "p.toml: 'data.sources[0]' = {'kind': 'file'}: kind = 'file' needs path\n"
        "p.toml: preset: quant.bits needs train.adapter = \"lora\"")
    assert per["train.lr"] == ["Input should be greater than 0"]
    assert "data.sources" in per
    assert rest and "quant.bits" in rest[0]
