"""Comparing marked runs from the Runs pane: the data (curves, metrics, preset diff) and the screen.

The run directories are written here the way the trainer writes them: `core.runs.write_run_preset`
with a preset resolved by `core.config.loader.load_preset`, and events through `core.events.EventWriter`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from test_tui_app import text_of, wait_until
from tui_support import FIXED_NOW, FIXED_ROOT, fixed_clock

from core.config.loader import load_preset
from core.events import Eval, EventWriter, Finished, Step
from core.runs import EVENTS_FILE, PRESET_FILE, write_run_preset
from tests.core.run_support import started
from tuner_tui import compare_data
from tuner_tui.app import TunerApp
from tuner_tui.compare_data import (
    ComparedRun,
    RunsReader,
    flatten,
    fmt_value,
    metric_rows,
    preset_diff,
    read_run,
)
from tuner_tui.widgets.chart import ChartSeries, legend, render_line_chart, share_range
from tuner_tui.widgets.compare_view import CompareScreen
from tuner_tui.widgets.merge_dialog import MergeScreen

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


def make_run(
    root: Path,
    name: str,
    *,
    sets: list[str],
    losses: list[float],
    vals: list[float],
    execs: list[float | None] | None = None,
    t0: float = FIXED_NOW - 600,
    finished: bool = True,
) -> Path:
    """A finished run: steps 1..N with `losses`, an eval every 2 steps with `vals` (and `execs`)."""
    preset, _ = load_preset("quickstart", overrides=sets)
    run = root / name
    run.mkdir(parents=True)
    write_run_preset(run, preset)
    n = len(losses)
    w = EventWriter(run / EVENTS_FILE)
    w.write(started(run, 999_999, time=t0, preset="quickstart", model=preset.model.id, max_steps=n))
    for i, loss in enumerate(losses, start=1):
        w.write(
            Step(
                time=t0 + i,
                step=i,
                max_steps=n,
                epoch=i / n,
                loss=loss,
                lr=1e-4,
                tokens=1000,
                tokens_per_s=100.0 * (1 + len(name) % 3),
                elapsed_s=float(i * 10),
            )
        )
        if i % 2 == 0:
            k = i // 2 - 1
            ex = execs[k] if execs else None
            w.write(
                Eval(
                    time=t0 + i + 0.5,
                    step=i,
                    val_loss=vals[k],
                    perplexity=None,
                    exact_match=0.25 + k / 10,
                    exact_match_rows=32,
                    syntax_valid=0.9,
                    exec_accuracy=ex,
                    exec_rows=20 if ex is not None else 0,
                )
            )
    if finished:
        w.write(
            Finished(
                time=t0 + n + 1,
                status="finished",
                step=n,
                adapter_dir=str(run / "adapter"),
                best_val_loss=min(vals),
                elapsed_s=float(n * 10 + 5),
            )
        )
    w.close()
    return run


def three_runs(root: Path) -> list[Path]:
    """Runs a (lr 1e-4), b (lr 3e-4, lora.r 8) with exec accuracy, and c (lr 3e-4) without."""
    if root.exists():
        shutil.rmtree(root)
    a = make_run(
        root,
        "lr1e-4-20261121-100000",
        sets=["train.lr=1e-4"],
        losses=[3.0, 2.6, 2.3, 2.1],
        vals=[2.8, 2.4],
        execs=[0.2, 0.35],
        t0=FIXED_NOW - 900,
    )
    b = make_run(
        root,
        "lr3e-4-20261121-101000",
        sets=["train.lr=3e-4", "lora.r=8"],
        losses=[3.0, 2.2, 1.9, 1.7],
        vals=[2.3, 2.0],
        execs=[0.3, 0.5],
        t0=FIXED_NOW - 600,
    )
    c = make_run(
        root,
        "plain-20261121-102000",
        sets=["train.lr=3e-4"],
        losses=[3.1, 2.9, 2.7, 2.6],
        vals=[2.9, 2.7],
        t0=FIXED_NOW - 300,
    )
    return [a, b, c]


@pytest.fixture
def compare_runs(monkeypatch) -> list[Path]:
    """Three runs at a fixed path (their names show on screen), listed by the app."""
    root = FIXED_ROOT / "compare-runs"
    runs = three_runs(root)
    monkeypatch.setenv("TUNER_RUNS_DIR", str(root))
    return runs


# ---------------------------------------------------------------------------------- data


def test_flatten_and_diff_show_only_the_keys_that_differ():
    a = flatten({"name": "q", "train": {"lr": 1e-4, "seed": 42}, "lora": {"targets": ["q", "v"]}})
    b = flatten({"name": "q", "train": {"lr": 3e-4, "seed": 42}, "lora": {"targets": ["q"]}, "extra": True})
    assert a == {"name": "q", "train.lr": 1e-4, "train.seed": 42, "lora.targets": ["q", "v"]}
    assert preset_diff([a, b]) == [
        ("train.lr", ["0.0001", "0.0003"]),
        ("lora.targets", ['["q", "v"]', '["q"]']),
        ("extra", ["–", "true"]),
    ]
    assert preset_diff([a, dict(a)]) == []
    assert [fmt_value(v) for v in (None, False, "", 8, {"k": 1})] == ["none", "false", '""', "8", '{"k": 1}']


def test_metric_rows_mark_the_best_and_dash_what_is_missing():
    a = ComparedRun(
        "a",
        Path("a"),
        "finished",
        step=4,
        max_steps=4,
        best_val_loss=2.0,
        final_val_loss=2.1,
        exact_match=0.25,
        exact_match_rows=32,
        exec_accuracy=[(4, 0.5)],
        exec_rows=20,
        tokens_per_s=150.0,
        wall_s=65.0,
    )
    b = ComparedRun("b", Path("b"), "failed", step=2, best_val_loss=2.5)
    rows = {r.label: r for r in metric_rows([a, b])}
    assert rows["status"].cells == ["finished", "failed"]
    assert rows["steps"].cells == ["4/4", "2"]
    assert rows["best val loss"].cells == ["2", "2.5"] and rows["best val loss"].best == (0,)
    assert rows["final val loss"].cells == ["2.1", "–"] and rows["final val loss"].best == ()
    assert rows["exact match"].cells == ["25.0% of 32", "–"]
    assert rows["exec accuracy"].cells == ["50.0% of 20", "–"]
    assert rows["syntax valid"].cells == ["–", "–"]
    assert rows["tokens/s"].cells == ["150", "–"]
    assert rows["wall time"].cells == ["1m05s", "–"]


def test_read_run_folds_curves_metrics_and_the_resolved_preset(tmp_path):
    a, b, c = three_runs(tmp_path / "runs")
    run = read_run(b)
    assert run.status == "finished" and (run.step, run.max_steps) == (4, 4)
    assert run.train_loss == [(1, 3.0), (2, 2.2), (3, 1.9), (4, 1.7)]
    assert run.val_loss == [(2, 2.3), (4, 2.0)]
    assert run.exec_accuracy == [(2, 0.3), (4, 0.5)] and run.exec_rows == 20
    assert run.best_val_loss == 2.0 and run.final_val_loss == 2.0
    assert run.exact_match == pytest.approx(0.35) and run.syntax_valid == 0.9
    assert run.wall_s == 45.0 and run.tokens_per_s == 100.0 * (1 + len(b.name) % 3)
    assert run.preset["train.lr"] == 3e-4 and run.preset["lora.r"] == 8 and run.preset_note is None
    assert read_run(c).exec_accuracy == [] and read_run(c).exec_accuracy_last is None
    diff = dict(preset_diff([read_run(p).preset for p in (a, b, c)]))
    assert diff == {"lora.r": ["16", "8", "16"], "train.lr": ["0.0001", "0.0003", "0.0003"]}


def test_the_reader_follows_growing_runs_incrementally(tmp_path):
    root = tmp_path / "runs"
    a = make_run(root, "a", sets=[], losses=[3.0, 2.5], vals=[2.6], finished=False)
    b = make_run(root, "b", sets=["train.seed=7"], losses=[3.0, 2.4], vals=[2.5])
    reader = RunsReader([a, b])
    first, _ = reader.read()
    assert first.status == "interrupted" and first.train_loss == [(1, 3.0), (2, 2.5)]
    w = EventWriter(a / EVENTS_FILE)
    w.write(Step(time=FIXED_NOW, step=3, max_steps=2, epoch=1.0, loss=2.2, lr=1e-4))
    w.close()
    again, other = reader.read()
    assert again.train_loss[-1] == (3, 2.2) and again.step == 3
    assert other.preset["train.seed"] == 7 and other.preset is reader.read()[1].preset  # read once


def test_a_preset_that_no_longer_validates_is_compared_as_written(tmp_path):
    a, *_ = three_runs(tmp_path / "runs")
    text = (a / PRESET_FILE).read_text()
    (a / PRESET_FILE).write_text(text.replace("[train]\n", "[train]\nold_key = 1\n", 1))
    preset, note = compare_data.read_preset(a)
    assert preset["train.old_key"] == 1 and "does not validate" in (note or "")
    (a / PRESET_FILE).unlink()
    assert compare_data.read_preset(a) == ({}, "no preset.toml")


def test_chart_markers_legend_and_fixed_axes():
    series = [
        ChartSeries("run-a", [(0, 0.2), (10, 0.4)], "cyan", "●"),
        ChartSeries("run-b", [(0, 0.6), (10, 0.8)], "magenta", "▲"),
    ]
    text = render_line_chart(series, 40, 8, x_range=(0, 20), y_range=(0.0, 1.0), y_fmt=lambda v: f"{v:.0%}")
    plain = text.plain
    assert plain.count("●") == 2 and plain.count("▲") == 2
    assert "100%" in plain and "0%" in plain and plain.rstrip().endswith("20")  # the fixed axes
    assert legend(series).plain == "━● run-a  ━▲ run-b"
    assert share_range(series) == (0.0, 1.0)  # 80% is high: the whole scale
    assert share_range([ChartSeries("", [(0, 0.02), (5, 0.06)])]) == (0.0, 0.1)  # a low trend stays visible
    assert share_range([ChartSeries("", [(0, 0.4)])]) == (0.0, 0.5)


# ---------------------------------------------------------------------------------- the screen


async def mark(pilot, app, name: str) -> None:
    await wait_until(pilot, lambda: app.runs_pane.loaded, what="runs listed")
    row = next(i for i, r in enumerate(app.runs_pane.infos) if r.name == name)
    app.runs_pane.table.move_cursor(row=row)
    await pilot.pause(0.05)
    await pilot.press("space")


def cells(table) -> dict[str, list[str]]:
    """A DataTable's rows as label → cells (plain text)."""
    return {str(row.key.value): [str(c) for c in table.get_row(row.key)[1:]] for row in table.ordered_rows}


async def test_mark_two_runs_compare_them_then_merge_them(compare_runs):
    a, b, _ = compare_runs
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs_pane.loaded, what="runs listed")
        assert "c Compare" in str(app.query_one("#keys").render())  # discoverable in the key bar
        await pilot.press("c")
        assert any("mark at least two runs with space" in n.message for n in app._notifications)
        await mark(pilot, app, a.name)
        await pilot.press("c")
        assert not isinstance(app.screen, CompareScreen)
        assert any("(1 marked)" in n.message for n in app._notifications)
        await mark(pilot, app, b.name)
        assert "2 marked · c: compare · m: merge" in text_of(app.runs_pane, "#runs-detail")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        screen = app.screen
        await wait_until(pilot, lambda: screen.loaded, what="runs read")
        assert text_of(screen, "#cmp-legend").strip() == f"━● {a.name}  ━▲ {b.name}"
        metrics = cells(screen.query_one("#cmp-metrics"))
        assert metrics["status"] == ["finished", "finished"]
        assert metrics["best val loss"] == ["2.4", "2 ★"]
        assert metrics["exec accuracy"] == ["35.0% of 20", "50.0% of 20 ★"]
        assert metrics["steps"] == ["4/4", "4/4"]
        diff = cells(screen.query_one("#cmp-diff"))
        assert diff == {"lora.r": ["16", "8"], "train.lr": ["0.0001", "0.0003"]}
        assert "2 keys differ" in text_of(screen, "#cmp-diff-heading")
        assert screen.query_one("#cmp-exec").display
        loss = screen.query_one("#cmp-loss")
        assert [s.color for s in loss.series] == ["cyan", "magenta"] and loss.x_range == (1, 4)
        assert [s.points for s in screen.query_one("#cmp-exec").series] == [
            [(2, 0.2), (4, 0.35)],
            [(2, 0.3), (4, 0.5)],
        ]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CompareScreen), what="back to runs")
        assert app.runs_pane.marked == [str(a), str(b)]  # the marks stay: merge them now
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, MergeScreen), what="merge dialog")
        assert app.screen.query_one("#mg-out").value == f"merge-{a.name}-{b.name}"


async def test_a_run_without_exec_accuracy_hides_that_chart_and_says_why(compare_runs):
    a, _, c = compare_runs
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await mark(pilot, app, c.name)
        await mark(pilot, app, a.name)  # marking order: c is the reference
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        screen = app.screen
        await wait_until(pilot, lambda: screen.loaded, what="runs read")
        metrics = cells(screen.query_one("#cmp-metrics"))
        assert metrics["exec accuracy"] == ["–", "35.0% of 20"]
        assert cells(screen.query_one("#cmp-diff")) == {"train.lr": ["0.0003", "0.0001"]}
        assert screen.query_one("#cmp-exec").display  # one run measured it


async def test_identical_presets_say_so(compare_runs, tmp_path):
    a, *_ = compare_runs
    twin = a.parent / "twin-20261121-103000"
    shutil.copytree(a, twin)
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await mark(pilot, app, a.name)
        await mark(pilot, app, twin.name)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        screen = app.screen
        await wait_until(pilot, lambda: screen.loaded, what="runs read")
        assert not screen.query_one("#cmp-diff").display
        assert "the resolved presets are the same" in text_of(screen, "#cmp-diff-note")
        assert screen.query_one("#cmp-exec").display  # both measured it


def test_compare_view_120x40(compare_runs, snap_compare):
    a, b, c = compare_runs
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)

    async def ready(pilot):
        for run in (a, b, c):
            await mark(pilot, app, run.name)
        await pilot.press("c")
        end = time.monotonic() + 10
        while time.monotonic() < end and not (isinstance(app.screen, CompareScreen) and app.screen.loaded):
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
