"""Pilot-driven tests of every pane at 80×24, keyboard first."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from tui_support import FAILED_RUN, FINISHED_RUN, fixed_clock, step_event, write_events

from tuner_tui.app import TunerApp
from tuner_tui.messages import AttachRun
from tuner_tui.widgets.chart import LineChart
from tuner_tui.widgets.panebar import PaneBar
from tuner_tui.widgets.table import VirtualTable

SIZE = (80, 24)
pytestmark = pytest.mark.anyio


async def wait_until(pilot, predicate, timeout: float = 10.0, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def plain(widget) -> str:
    """What a Static (or any widget) shows, as plain text."""
    import io

    from rich.console import Console

    content = getattr(widget, "content", None)
    if content is None or content == "":
        content = widget.render()
    if isinstance(content, str):
        return content
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()


def text_of(app_or_widget, selector: str) -> str:
    return plain(app_or_widget.query_one(selector))


# ---------------------------------------------------------------------------------- navigation


async def test_number_keys_mouse_tabs_and_escape(runs_dir):
    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs_pane.loaded, what="runs listed")
        assert app.active_pane == "runs"
        for key, pane in (
            ("1", "data"),
            ("2", "presets"),
            ("3", "monitor"),
            ("5", "runs"),
            ("4", "playground"),
        ):
            await pilot.press(key)
            assert app.active_pane == pane
        # the playground focuses its prompt: digits are text there, Escape gives the keys back
        await pilot.press("1")
        assert app.active_pane == "playground"
        assert app.query_one("#pg-prompt").value == "1"
        await pilot.press("escape", "2")
        assert app.active_pane == "presets"
        bar = app.pane_bar
        start, _end, _pane = next(c for c in bar._cells if c[2] == "monitor")
        await pilot.click(PaneBar, offset=(bar.gutter.left + start + 1, 0))
        assert app.active_pane == "monitor"
        assert "3 Monitor" in plain(bar)
        # Escape from a field puts the focus on the bar, where ←/→ switch panes too
        await pilot.press("2", "escape")
        assert app.focused is bar
        await pilot.press("right")
        assert app.active_pane == "monitor"
        await pilot.press("left", "left")
        assert app.active_pane == "data" and app.focused is bar  # the bar keeps the focus while browsing
        await pilot.press("down")
        assert app.focused is not bar and app.focused in app.data.query("*")


async def test_key_bar_follows_the_focus_and_its_keys_click(runs_dir):
    """The key bar shows the focused pane's keys, repaints only when they change, and a click runs a key."""
    from tuner_tui.widgets.keybar import KeyBar

    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs_pane.loaded, what="runs listed")
        bar = app.query_one(KeyBar)
        await pilot.press("3")
        await wait_until(pilot, lambda: "Stop run" in plain(bar), what="monitor keys")
        assert "Quit" in plain(bar) and "Build" not in plain(bar)
        await pilot.press("1")
        await wait_until(pilot, lambda: "Build" in plain(bar), what="data keys")
        line = bar._line
        app.data.focus_default()  # the same keys again: the very same line, no update
        await pilot.pause()
        assert bar._line is line
        assert not {"1", "2", "3", "4", "5"} & {key for _, _, key in bar._cells}  # the tabs show those
        start, _end, _key = next(c for c in bar._cells if c[2] == "q")
        await pilot.click(KeyBar, offset=(start + 1, 0))
        await pilot.pause()
        assert not app.is_running  # the click ran `q`


async def test_runs_pane_lists_runs_and_enter_opens_the_monitor(runs_dir):
    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs_pane.loaded, what="runs listed")
        infos = {r.name: r.status for r in app.runs_pane.infos}
        assert infos == {FINISHED_RUN: "finished", FAILED_RUN: "failed"}
        assert app.runs_pane.table.row_count == 2
        await pilot.press("down", "enter")
        assert app.active_pane == "monitor"
        assert app.monitor.run_dir == runs_dir / FAILED_RUN
        await wait_until(pilot, lambda: app.monitor.view is not None and app.monitor.view.name == FAILED_RUN)
        assert "failed (oom)" in text_of(app, "#mon-header")
        assert "fix: lower train.micro_batch_size" in text_of(app, "#mon-events")


async def test_reopening_reattaches_to_a_running_run(live_run):
    app = TunerApp(runs_dir=live_run.parent, runs_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.monitor.view is not None, what="monitor attached")
        assert app.monitor.run_dir == live_run
        assert app.monitor.view.status == "running"
        assert app.active_pane == "monitor"
        assert "▶" in app.pane_bar.label("runs")
        # the run ends while the Monitor is shown: the Runs tab drops its running count by itself
        write_events(
            live_run / "events.jsonl",
            [
                {
                    "v": 1,
                    "type": "finished",
                    "time": time.time(),
                    "step": 0,
                    "status": "finished",
                    "adapter_dir": "",
                }
            ],
        )
        await wait_until(pilot, lambda: app.pane_bar.label("runs") == "5 Runs", what="running count cleared")
        assert app.active_pane == "monitor"


# ---------------------------------------------------------------------------------- monitor


async def test_monitor_shows_a_finished_run(runs_dir):
    app = TunerApp(clock=fixed_clock, open_run=FINISHED_RUN, start_pane="monitor")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.monitor.view is not None)
        header = text_of(app, "#mon-header")
        assert "finished" in header and "step 10/10" in header and "5m ago" in header
        assert app.query_one("#chart-loss", LineChart).point_count == 7  # 5 train + 2 val
        assert "checkpoint-10" in text_of(app, "#mon-events")


async def test_monitor_follows_a_growing_event_file(live_run):
    app = TunerApp(runs_dir=live_run.parent, poll_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.monitor.view is not None)
        chart = app.query_one("#chart-loss", LineChart)
        assert chart.point_count == 0
        events = live_run / "events.jsonl"
        for batch in range(3):
            write_events(events, [step_event(s) for s in range(batch * 5 + 1, batch * 5 + 6)])
            target = (batch + 1) * 5
            await wait_until(pilot, lambda t=target: app.monitor.view.step == t, what=f"step {target}")
            assert chart.point_count == target
            assert f"step {target}/100" in text_of(app, "#mon-header")
        with open(live_run / "train.log", "a") as f:
            f.write("hello from the trainer\n")
        await wait_until(
            pilot, lambda: any("hello from the trainer" in line for line in app.query_one("#mon-log").lines)
        )
        # a burst: thousands of events arrive between two polls and are applied in one update
        before = app.monitor.updates
        write_events(events, [step_event(s, max_steps=5000) for s in range(16, 3016)])
        await wait_until(pilot, lambda: app.monitor.view.step == 3015, what="burst applied")
        assert app.monitor.updates - before <= 2
        train = chart.series[0].points
        assert train[-1][0] == 3015 and len(train) <= 2000  # long runs are thinned, recent steps kept


@contextlib.asynccontextmanager
async def monitoring_a_fake_trainer(tmp_path):
    """The TUI following a detached fake trainer in its Monitor, once the run shows as running."""
    from test_tui_launcher import FAKE_TRAINER

    from tuner_tui import launcher

    root = tmp_path / "runs"
    launch = launcher.launch(argv=[sys.executable, "-c", FAKE_TRAINER, str(root)], root=root, target="fake")
    try:
        app = TunerApp(runs_dir=root, poll_interval=0.1)
        async with app.run_test(size=SIZE) as pilot:
            app.launches.append(launch)
            app.monitor.post_message(AttachRun(None, launch))  # queued until the lazy monitor mounts
            await wait_until(
                pilot,
                lambda: app.monitor.view is not None and app.monitor.view.status == "running",
                what="running",
            )
            app.action_pane("monitor")
            yield app, pilot, launch
    finally:
        if launch.poll() is None:
            os.kill(launch.pid, signal.SIGKILL)
            launch.popen.wait()


async def test_monitor_stop_sends_sigterm_and_the_run_ends_interrupted(tmp_path):
    async with monitoring_a_fake_trainer(tmp_path) as (app, pilot, _):
        await pilot.press("s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_until(
            pilot, lambda: app.monitor.view.status == "interrupted", timeout=20, what="interrupted"
        )


# ---------------------------------------------------------------------------------- presets


async def _open_presets(pilot, app):
    await pilot.press("2")
    await wait_until(
        pilot,
        lambda: app.presets.current is not None and app.presets.current.name == "quickstart",
        what="quickstart open",
    )
    await pilot.pause(0.1)


async def test_presets_validate_inline_with_the_cli_schema(empty_runs):
    app = TunerApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_presets(pilot, app)
        assert app.presets.valid is not None and not app.presets.errors
        app.query_one("#f-train-lr").value = "-1"
        app.query_one("#f-train-micro-batch-size").value = "lots"
        await wait_until(pilot, lambda: "train.lr" in app.presets.errors)
        assert "greater than 0" in text_of(app, "#f-train-lr-error")
        assert "integer" in text_of(app, "#f-train-micro-batch-size-error")
        assert app.query_one("#f-train-lr-error").display
        assert "2 problems" in text_of(app, "#preset-errors")
        app.query_one("#f-train-lr").value = "5e-4"
        app.query_one("#f-train-micro-batch-size").value = "4"
        await wait_until(pilot, lambda: not app.presets.errors)
        assert "2 changes" in text_of(app, "#preset-errors")
        assert app.presets.changes() == {"train.lr": 5e-4, "train.micro_batch_size": 4}
        # a rule across sections (quantized base + full fine-tuning) is reported too
        app.query_one("#f-quant-bits").value = 4
        app.query_one("#f-train-adapter").value = "full"
        await wait_until(pilot, lambda: app.presets.valid is None)
        assert "quant.bits" in text_of(app, "#preset-errors")


async def test_presets_save_as_writes_a_user_preset(empty_runs):
    from core.config.loader import load_preset, user_presets_dir

    app = TunerApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_presets(pilot, app)
        app.query_one("#f-lora-r").value = "32"
        app.query_one("#f-data-sources").value = "bundled, file:extra.jsonl"
        app.query_one("#preset-save-name").value = "my-quick"
        await pilot.pause(0.4)
        await pilot.press("ctrl+s")
        target = user_presets_dir() / "my-quick.toml"
        await wait_until(pilot, lambda: target.is_file(), what="saved file")
        preset, _ = load_preset("my-quick")
        assert preset.lora.r == 32 and preset.name == "my-quick"
        assert [s.kind for s in preset.data.sources] == ["bundled", "file"]
        await wait_until(
            pilot, lambda: any(p.name == "my-quick" and not p.shipped for p in app.presets.presets)
        )


async def test_presets_launch_and_smoke_use_overrides(empty_runs, monkeypatch):
    app = TunerApp()
    calls = []
    monkeypatch.setattr(
        app,
        "launch_run",
        lambda target, overrides=None, smoke=False, cwd=None: calls.append((target, overrides, smoke)),
    )
    async with app.run_test(size=SIZE) as pilot:
        await _open_presets(pilot, app)
        app.query_one("#f-train-lr").value = "0.0005"
        await pilot.pause(0.4)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await pilot.press("ctrl+t", "y")
        await wait_until(pilot, lambda: len(calls) == 2)
    assert calls == [("quickstart", ["train.lr=0.0005"], False), ("quickstart", ["train.lr=0.0005"], True)]


async def test_memory_budget_panel_shows_cores_estimate_and_verdict(empty_runs):
    """The budget is core.estimate's, judged by core's fit rule, against the (here pinned) device memory."""
    from core.config.loader import load_preset
    from core.estimate import estimate_or_reason, fit_verdict
    from core.units import fmt_bytes

    memory = ("test RAM", 16 * 2**30)
    app = TunerApp(estimate_device="cpu", device_memory=memory)
    async with app.run_test(size=SIZE) as pilot:
        await _open_presets(pilot, app)
        await wait_until(pilot, lambda: "estimating" not in text_of(app, "#preset-estimate"), timeout=30)
        shown = text_of(app, "#preset-estimate")
        est = estimate_or_reason(load_preset("quickstart")[0], "cpu")
        assert f"device test RAM: {fmt_bytes(memory[1])}" in shown
        assert fmt_bytes(est.total) in shown and fit_verdict(est.total, memory[1])[1] in shown
        assert "✓ fits" in shown
        # a change of the form is estimated again: full fine-tuning needs more memory than LoRA
        app.query_one("#f-train-adapter").value = "full"
        await wait_until(
            pilot, lambda: app.presets.valid is not None and app.presets.valid.train.adapter == "full"
        )
        bigger = estimate_or_reason(app.presets.valid, "cpu")
        await wait_until(pilot, lambda: fmt_bytes(bigger.total) in text_of(app, "#preset-estimate"))
        assert bigger.total > est.total


# ---------------------------------------------------------------------------------- data


async def _open_data_dir(pilot, app, data_dir):
    from textual.widgets import Select

    await pilot.press("1")
    select = app.query_one("#data-source", Select)
    await wait_until(pilot, lambda: any(v == f"built:{data_dir}" for _, v in select._options), what="choices")
    select.value = f"built:{data_dir}"
    await wait_until(pilot, lambda: app.data.dataset is not None, what="dataset read")
    await pilot.pause(0.1)


async def test_data_pane_rows_search_rejects_stats_augmentation(data_dir, empty_runs):
    app = TunerApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_data_dir(pilot, app, data_dir)
        table = app.query_one("#data-table", VirtualTable)
        assert table.row_count == 108
        assert "train 108" in text_of(app, "#data-status") and "rejected 4" in text_of(app, "#data-status")
        await pilot.press("slash")
        await pilot.press(*"var/log")
        await wait_until(pilot, lambda: 0 < table.row_count < 108, what="filtered")
        assert all(
            "var/log" in (r.instruction + r.command).lower()
            for r in (table.row_at(i) for i in range(table.row_count))
        )
        await pilot.press("enter")
        assert app.focused is table
        assert "$ " in text_of(app, "#data-detail")
        rej = app.query_one("#rej-table", VirtualTable)
        assert rej.row_count == 4
        assert {rej.row_at(i)["step"] for i in range(4)} == {"syntax", "dangerous", "duplicate_exact"}
        stats = text_of(app, "#stats-steps")
        assert stats
        await wait_until(pilot, lambda: "augmented rows in this build" in text_of(app, "#aug-view"))
        # the views: ] cycles them (one shown at a time), a click on the views' bar picks one
        await pilot.press("right_square_bracket")
        assert app.data.view == "data-stats" and app.query_one("#data-stats").display
        assert not app.query_one("#data-rows").display
        await pilot.press("right_square_bracket")
        assert app.data.view == "data-rejected" and app.focused is rej
        views = app.query_one("#data-views", PaneBar)
        start, _end, _view = next(c for c in views._cells if c[2] == "data-aug")
        await pilot.click("#data-views", offset=(views.gutter.left + start + 1, 0))
        assert app.data.view == "data-aug" and app.query_one("#data-aug").display
        assert app.active_pane == "data"  # the views' bar does not switch panes


async def test_data_file_build_with_progress(empty_runs, tmp_path, monkeypatch):
    from tui_support import FIXTURES

    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "built"))
    app = TunerApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await wait_until(pilot, lambda: app.data._choices_loaded)
        app.query_one("#data-file").value = str(FIXTURES / "pairs.jsonl")
        app.query_one("#data-file").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "not built yet" in text_of(app, "#data-status"), what="not built")
        await pilot.press("ctrl+b")
        assert app.data.building or app.data.dataset is not None
        await wait_until(pilot, lambda: app.data.dataset is not None, timeout=60, what="built")
        assert "built in" in text_of(app, "#data-status")
        assert not app.query_one("#data-progress").display
        # 4 bad rows of the fixture file, and 1 whose command is an execution-checked set reference
        reasons = [r["reason"] for r in app.data.dataset.rejected]
        assert len(reasons) == 5 and sum("exec-set/" in r for r in reasons) == 1
        assert any((tmp_path / "built").iterdir())


async def test_100k_rows_scroll_without_lag(empty_runs):
    """Keys move through 100K rows correctly, the visible rows are drawn, a search finds one row.

    (How long a page takes is bench/tui_latency.py's "page down in a 100,000-row table".)
    """
    from tuner_tui.panes.data import Dataset, random_rows

    rows = random_rows(100_000)
    app = TunerApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        ds = Dataset(
            Path("/synthetic"),
            {"counts": {"train": len(rows)}, "preset": "synthetic"},
            {},
            {"train": rows, "val": [], "test": []},
            [],
        )
        app.data._loaded(ds, 0.0)
        table = app.query_one("#data-table", VirtualTable)
        table.focus()
        await pilot.pause()
        page = table.size.height - 1
        await pilot.press("pagedown", "pagedown", "down")
        assert table.cursor == 2 * page + 1
        assert table.cursor_row is rows[2 * page + 1]
        await pilot.press("end")
        assert table.cursor == 99_999 and table.scroll_offset.y > 99_000
        # the last screen line draws the last row (only the visible rows are drawn)
        assert rows[99_999].instruction[:25] in table.render_line(table.size.height - 1).text
        await pilot.press("home")
        assert table.cursor == 0

        table.set_rows(rows)
        app.query_one("#data-search").value = "number 99999 "
        await wait_until(pilot, lambda: table.row_count == 1, timeout=10, what="filter over 100K rows")
        assert table.cursor_row is rows[99_999]


@pytest.mark.slow
async def test_token_length_histogram_with_the_real_tokenizer(data_dir, empty_runs):
    from tuner_tui.widgets.chart import Histogram

    app = TunerApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_data_dir(pilot, app, data_dir)
        await pilot.press("t")
        hist = app.query_one("#data-hist", Histogram)
        await wait_until(pilot, lambda: len(hist.values) == 108, timeout=120, what="token lengths")
        assert "p50" in text_of(app, "#data-pct")


# ---------------------------------------------------------------------------------- playground


async def test_playground_opens_on_the_newest_adapter_against_its_base(runs_dir):
    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.playground.choices, what="model choices")
        await pilot.press("4")
        pg = app.playground
        a, b = (pg._choice_of(pg.query_one(sel).value) for sel in ("#pg-a", "#pg-b"))
        assert a is not None and not a.base and a.checkpoint is None  # a run's adapter
        assert b is not None and b.base and b.run_dir == a.run_dir  # that run's base model
        assert pg.query_one("#pg-out-b").display


async def test_playground_streams_flags_danger_ab_and_history(runs_dir, monkeypatch):
    from types import SimpleNamespace

    import core.generate
    from tuner_tui import hf_loading
    from tuner_tui.history import PromptHistory

    loads = []

    def fake_load(run_dir, base=False, checkpoint=None, preset=None):
        loads.append((run_dir, base, checkpoint))
        return SimpleNamespace(model="base" if base else "adapter")

    def fake_stream(loaded, prompt, max_new_tokens=128, stop=None):
        if prompt == "apologise":
            text = "I'm sorry for any confusion."
        elif prompt == "root":
            text = "The root directory is /"  # prose that bash would parse (a command named `The`)
        else:
            text = "```bash\nrm -rf /\n```" if loaded.model == "adapter" else "ls -la"
        for i in range(0, len(text), 3):
            yield text[i : i + 3]

    monkeypatch.setattr(hf_loading, "load_run_model", fake_load)
    monkeypatch.setattr(core.generate, "stream_reply", fake_stream)
    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.playground.choices, what="model choices")
        app.open_playground(runs_dir / FINISHED_RUN)
        await pilot.pause(0.1)
        pg = app.playground
        assert pg.query_one("#pg-out-b").display  # A = adapter, B = base
        await pilot.press(*"delete everything")
        await pilot.press("enter")
        a, b = pg.query_one("#pg-out-a"), pg.query_one("#pg-out-b")
        await wait_until(pilot, lambda: "DANGEROUS" in text_of(a, ".answer-command"))
        assert "recursive delete of /" in text_of(a, ".answer-command")
        await wait_until(pilot, lambda: "no destructive" in text_of(b, ".answer-command"))
        assert "rm -rf /" in a.text
        assert {(Path(r).name, base) for r, base, _ in loads} == {(FINISHED_RUN, False), (FINISHED_RUN, True)}
        app.query_one("#pg-prompt").value = ""
        await pilot.press("up")
        assert app.query_one("#pg-prompt").value == "delete everything"
        # prose is not dressed up as a command, even when bash would parse it; no "safe" verdict
        app.query_one("#pg-prompt").value = "apologise"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "not a bash command" in text_of(b, ".answer-command"))
        assert "no destructive" not in text_of(b, ".answer-command")
        app.query_one("#pg-prompt").value = "root"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "reads as a sentence" in text_of(b, ".answer-command"))
        assert "no destructive" not in text_of(b, ".answer-command")
    assert PromptHistory().entries[-2:] == ["apologise", "root"]


# ---------------------------------------------------------------------------------- terminal


async def test_resizing_never_crashes(runs_dir, data_dir):
    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs_pane.loaded)
        for key in "12345":
            await pilot.press("escape", key)
            for size in ((40, 12), (20, 8), (200, 60), (160, 48), (80, 24)):
                await pilot.resize_terminal(*size)
                await pilot.pause(0.05)
        assert app.is_running


async def test_16_colour_terminals_get_the_ansi_theme(runs_dir, monkeypatch):
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs_pane.loaded)
        assert app.theme == "ansi-dark"


async def test_monitor_says_stopping_from_the_moment_stop_is_confirmed(tmp_path):
    async with monitoring_a_fake_trainer(tmp_path) as (app, pilot, launch):
        os.kill(launch.pid, signal.SIGSTOP)  # a trainer busy in a long evaluation: it cannot answer yet
        app.monitor.mark_stopping(app.monitor.watch.run_dir)
        await wait_until(
            pilot,
            lambda: "stopping…" in str(app.monitor.query_one("#mon-header").render()),
            what="stopping… in the header",
        )
        assert app.monitor.view.stopping and app.monitor.view.status == "running"
        os.kill(launch.pid, signal.SIGCONT)
