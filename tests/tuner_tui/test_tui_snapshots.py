"""Snapshot tests (pytest-textual-snapshot) fed by recorded run directories.

Deterministic: the runs are copied to a fixed folder with fixed mtimes, the app gets a fixed
clock, times print in UTC. Update after an intended change with `pytest --snapshot-update`.
"""

from __future__ import annotations

import time

from tui_support import FAILED_RUN, FINISHED_RUN, fixed_clock

from tuner_tui.app import TunerApp


async def _settle(pilot, predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not predicate():
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def _monitor_app(run: str) -> TunerApp:
    return TunerApp(clock=fixed_clock, open_run=run, start_pane="monitor", attach_running=False)


async def _monitor_ready(pilot) -> None:
    app = pilot.app
    await _settle(pilot, lambda: app.monitor.view is not None and app.runs_pane.loaded)


def test_monitor_finished_run_80x24(runs_dir, snap_compare):
    assert snap_compare(_monitor_app(FINISHED_RUN), terminal_size=(80, 24), run_before=_monitor_ready)


def test_monitor_finished_run_160x48(runs_dir, snap_compare):
    assert snap_compare(_monitor_app(FINISHED_RUN), terminal_size=(160, 48), run_before=_monitor_ready)


def test_monitor_failed_run_80x24(runs_dir, snap_compare):
    assert snap_compare(_monitor_app(FAILED_RUN), terminal_size=(80, 24), run_before=_monitor_ready)


def test_monitor_16_colours_80x24(runs_dir, snap_compare, monkeypatch):
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    assert snap_compare(_monitor_app(FINISHED_RUN), terminal_size=(80, 24), run_before=_monitor_ready)


def test_runs_80x24(runs_dir, snap_compare):
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)

    async def ready(pilot):
        await _settle(pilot, lambda: app.runs_pane.loaded)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def _data_ready(data_dir, tab: str | None = None):
    async def ready(pilot):
        from textual.widgets import Select

        app = pilot.app
        await pilot.press("1")
        select = app.query_one("#data-source", Select)
        await _settle(pilot, lambda: any(v == f"built:{data_dir}" for _, v in select._options))
        select.value = f"built:{data_dir}"
        await _settle(pilot, lambda: app.data.dataset is not None)
        if tab:
            app.data.show_view(tab, focus=False)
        app.query_one("#data-table").focus()
        await pilot.pause(0.5)

    return ready


def test_data_rows_80x24(runs_dir, data_dir, snap_compare):
    app = TunerApp(clock=fixed_clock, attach_running=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_data_ready(data_dir))


def test_data_augmentation_100x30(runs_dir, data_dir, snap_compare):
    app = TunerApp(clock=fixed_clock, attach_running=False)
    assert snap_compare(app, terminal_size=(100, 30), run_before=_data_ready(data_dir, "data-aug"))
