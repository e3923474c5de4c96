"""Run following without a UI: RunState folding, RunWatch status, LogTail, charts, history."""

from __future__ import annotations

import json
import os

from tui_support import FAILED_RUN, FINISHED_RUN, FIXED_NOW, run_started, step_event, write_events

from tuner_tui.history import PromptHistory
from tuner_tui.run_state import MAX_POINTS, RunState
from tuner_tui.watch import LogTail, RunWatch
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
    assert watch.poll() is None or watch.state.summary.step is None
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
    resumed = {
        "v": 1,
        "type": "run_started",
        "time": 2.0,
        "pid": 2,
        "max_steps": 20,
        "resumed_from": "/x/checkpoints/checkpoint-10",
    }
    state.apply([resumed, step_event(11, 20)])
    assert [s for s, _ in state.train_loss] == list(range(1, 12))
    assert state.summary.final is None and state.summary.pid == 2 and state.summary.step == 11


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
    _lo, hi = robust_range([1.0, 2.0, 3.0, 1e12])
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
        fields = (
            "name",
            "preset",
            "model",
            "status",
            "step",
            "max_steps",
            "best_val_loss",
            "last_loss",
            "pid",
        )
        assert [[getattr(r, f) for f in fields] for r in mine] == [
            [getattr(r, f) for f in fields] for r in core
        ]
        assert [r.started for r in mine] == [r.started for r in core]
    assert {r.status for r in mine} == {"finished", "failed", "running", "unknown"}


def _plain(renderable) -> str:
    import io

    from rich.console import Console

    c = Console(width=120, record=True, color_system=None, file=io.StringIO())
    c.print(renderable)
    return c.export_text()


def test_memory_budget_renders_cores_estimate_with_cores_fit_rule():
    """The presets pane draws core.estimate's Estimate and says what `tuner estimate` says (fit_verdict)."""
    from core.config.loader import load_preset
    from core.estimate import estimate_or_reason, fit_verdict
    from tuner_tui.panes.presets import MemoryBudget, memory_budget, render_budget

    preset, _ = load_preset("quickstart")
    est = estimate_or_reason(preset, "cpu")
    assert not isinstance(est, str), est
    total = est.total
    shown = {}
    for share, icon, word in ((0.5, "✓", "fits"), (0.95, "!", "tight"), (1.5, "✗", "does not fit")):
        device = ("test RAM", int(total / share))
        text = _plain(render_budget(MemoryBudget(estimate=est, device=device)))
        style, words = fit_verdict(total, device[1])
        assert f"{icon} {words}" in text and words.startswith(word), text
        shown[word] = style
    assert shown == {"fits": "green", "tight": "yellow", "does not fit": "red"}
    text = _plain(render_budget(MemoryBudget(estimate=est, device=("test RAM", 16 * 2**30))))
    assert est.components[0].name[:16] in text and "assumes: " + est.assumptions[0][:40] in text
    # pinned device and memory (what the snapshot uses): no detection, same estimate
    pinned = memory_budget(preset, "cpu", ("test RAM", 16 * 2**30))
    assert pinned.device == ("test RAM", 16 * 2**30) and pinned.estimate.total == total
    assert "not in this build" in _plain(render_budget(MemoryBudget(reason="not in this build")))


def test_validation_errors_map_to_fields():
    from tuner_tui.panes.presets import field_errors

    per, rest = field_errors(
        "p.toml: 'train.lr' = -1.0: Input should be greater than 0\n"
        "p.toml: 'data.sources[0]' = {'kind': 'file'}: kind = 'file' needs path\n"
        'p.toml: preset: quant.bits needs train.adapter = "lora"'
    )
    assert per["train.lr"] == ["Input should be greater than 0"]
    assert "data.sources" in per
    assert rest and "quant.bits" in rest[0]


def write_long_run(run, n=30_000, resume_after=15_000, resume_to=10_000):
    """A finished run of ~15 MB: a resume in the middle, an eval every 1,000 steps, a loss spike at 29,000."""

    def val(s):
        return 2.0 + abs(s - 5000) / 10_000  # best at step 5000, deep in the middle

    def evals(steps):
        return [
            {"v": 1, "type": "eval", "time": 1.0, "step": s, "val_loss": val(s), "perplexity": 1.0}
            for s in steps
            if s % 1000 == 0
        ]

    def steps(a, b):
        out = []
        for s in range(a, b):
            out.append(step_event(s, n, loss=100.0 if s == 29_000 else None))
            out += evals([s])
        return out

    resumed = {
        **run_started(run, os.getpid(), n),
        "resumed_from": f"{run}/checkpoints/checkpoint-{resume_to}",
    }
    write_events(
        run / "events.jsonl",
        [run_started(run, 4194399, n)]
        + steps(1, resume_after + 1)
        + [resumed]
        + steps(resume_to + 1, n + 1)
        + [
            {
                "v": 1,
                "type": "finished",
                "time": FIXED_NOW,
                "status": "finished",
                "step": n,
                "adapter_dir": "a",
                "best_val_loss": val(10_000),
                "reason": "max_steps",
                "elapsed_s": 1.0,
            }
        ],
    )
    return list(range(1000, resume_to + 1, 1000)) + [s for s in range(resume_to + 1, n + 1) if s % 1000 == 0]


def test_opening_a_long_run_paints_from_a_window_then_reads_the_history(tmp_path, monkeypatch):
    import core.events
    from core.events import HEAD_BYTES, TAIL_BYTES

    run = tmp_path / "long-20261121-000000"
    run.mkdir()
    val_steps = write_long_run(run)
    read = [0]

    def counting_open(*a, **kw):
        f = open(*a, **kw)  # noqa: SIM115 - handed to the reader, which closes it
        raw_read = f.read

        def counted(n=-1):
            data = raw_read(n)
            read[0] += len(data)
            return data

        f.read = counted
        return f

    monkeypatch.setattr(core.events, "open", counting_open, raising=False)
    watch = RunWatch(run, log=False)
    first = watch.poll(now=FIXED_NOW).view
    assert read[0] <= HEAD_BYTES + TAIL_BYTES + 1, "the first paint reads a bounded window"
    assert (first.status, first.step, first.max_steps, first.partial) == ("finished", 30_000, 30_000, True)
    assert first.started["resumed_from"] is None  # the resume's run_started lies in the unread middle
    assert len(first.train_loss) <= MAX_POINTS and [s for s, _ in first.train_loss[-5:]] == list(
        range(29_996, 30_001)
    )
    polls = 0
    while watch.view().partial:
        with open(run / "events.jsonl", "a") as f:  # the run goes on while its history is read
            f.write(
                json.dumps({"v": 1, "type": "warning", "time": 1.0, "message": f"w{polls}", "kind": "x"})
                + "\n"
            )
        update = watch.poll(now=FIXED_NOW)
        assert update is not None and update.new_events
        polls += 1
        assert polls < 50
    view = watch.view()
    assert [
        s for s, _ in view.val_loss
    ] == val_steps  # every eval, and the resume dropped those after its checkpoint
    assert (view.best_val, view.best_step) == (2.0, 5000)
    assert view.started["resumed_from"] and view.status == "finished" and view.step == 30_000
    assert view.warnings[-1]["message"] == f"w{polls - 1}"  # what arrived meanwhile is kept
    steps = [s for s, _ in view.train_loss]
    assert len(steps) <= MAX_POINTS and steps == sorted(steps) and steps[0] == 1 and steps[-1] == 30_000
    # The middle's steps are a sample (one per stride); recent ones are all read, and thinning
    # keeps each group's extremes: a recent spike stays on the chart.
    assert 100.0 in [v for _, v in first.train_loss] and 100.0 in [v for _, v in view.train_loss]


def test_a_long_run_with_a_torn_last_line(tmp_path):
    run = tmp_path / "long-20261121-000000"
    run.mkdir()
    write_long_run(run)
    line = json.dumps(step_event(30_001, 30_000)) + "\n"
    with open(run / "events.jsonl", "a") as f:
        f.write(line[:50])
    watch = RunWatch(run, log=False)
    assert watch.poll(now=FIXED_NOW).view.step == 30_000
    with open(run / "events.jsonl", "a") as f:
        f.write(line[50:])
    assert watch.poll(now=FIXED_NOW).view.step == 30_001  # completed: read once, whole
    while watch.view().partial:
        watch.poll(now=FIXED_NOW)
    assert watch.view().step == 30_001 and watch.view().train_loss[-1][0] == 30_001


def test_thinning_keeps_the_extremes():
    state = RunState()
    state.apply(
        [
            step_event(s, 100_000, loss=50.0 if s == 777 else (1e-9 if s == 1234 else None))
            for s in range(1, 100_001)
        ]
    )
    losses = [v for _, v in state.train_loss]
    assert len(losses) <= MAX_POINTS and 50.0 in losses and 1e-9 in losses
    assert state.train_loss[0][0] == 1 and state.train_loss[-1][0] == 100_000


def test_runs_scanner_agrees_with_core_list_runs_on_a_long_run(tmp_path):
    from core.runs import list_runs
    from tuner_tui.watch import RunsScanner

    run = tmp_path / "long-20261121-000000"
    run.mkdir()
    write_long_run(run)
    fields = (
        "name",
        "preset",
        "model",
        "status",
        "step",
        "max_steps",
        "best_val_loss",
        "last_loss",
        "pid",
        "started",
    )
    mine, core = RunsScanner(tmp_path).scan(), list_runs(tmp_path)
    assert [[getattr(r, f) for f in fields] for r in mine] == [[getattr(r, f) for f in fields] for r in core]
    # Both read the same windows: the best is that of the evals read and of the finished event's figure.
    assert core[0].status == "finished" and core[0].best_val_loss == 2.5


def test_a_long_resumed_run_is_running_by_its_lock_in_the_runs_list(tmp_path):
    from core import run_lock
    from core.runs import list_runs
    from tuner_tui.watch import RunsScanner

    run = tmp_path / "long-20261121-000000"
    run.mkdir()
    resumed = {
        **run_started(run, os.getpid(), 30_000),
        "resumed_from": "checkpoints/checkpoint-100",
        "time": 2e9,
    }
    write_events(
        run / "events.jsonl",
        [run_started(run, 4194399, 30_000)]
        + [step_event(s, 30_000) for s in range(1, 10_001)]
        + [resumed]
        + [step_event(s, 30_000) for s in range(101, 10_001)],
    )
    lock = run_lock.acquire(run)  # the resumed trainer, whose run_started lies in the unread middle
    try:
        (mine,), (core,) = RunsScanner(tmp_path).scan(), list_runs(tmp_path)
        got = [(r.status, r.pid, r.step) for r in (mine, core)]
        assert got == [("running", os.getpid(), 10_000)] * 2
    finally:
        lock.release()
    (mine,), (core,) = RunsScanner(tmp_path).scan(), list_runs(tmp_path)
    assert mine.status == core.status == "interrupted"


def test_without_runs_the_playground_offers_the_quickstart_base():
    from tuner_tui.model_choices import model_choices

    ((label, choice),) = model_choices([])
    assert label == "base · quickstart preset model"
    assert choice.run_dir is None and choice.base and choice.preset == "quickstart"
