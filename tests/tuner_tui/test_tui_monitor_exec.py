"""The Monitor's exec-accuracy chart: beside the loss chart for runs with `eval.exec`, hidden for the others."""

from __future__ import annotations

import pytest
from test_tui_app import text_of, wait_until
from test_tui_compare import three_runs
from tui_support import fixed_clock

from tuner_tui.app import TunerApp
from tuner_tui.run_state import RunState

pytestmark = pytest.mark.anyio


def test_run_state_folds_exec_accuracy_from_eval_events():
    state = RunState()
    state.apply(
        [
            {"type": "eval", "step": 0, "val_loss": 3.0},  # a run without eval.exec: no point
            {"type": "eval", "step": 10, "val_loss": 2.0, "exec_accuracy": 0.25, "exec_rows": 20},
            {"type": "eval", "step": 20, "val_loss": 1.8, "exec_accuracy": None, "exec_rows": 0},  # cut short
            {"type": "eval", "step": 30, "val_loss": 1.7, "exec_accuracy": 0.4, "exec_rows": 20},
        ]
    )
    assert state.exec_accuracy == [(10, 0.25), (30, 0.4)]
    # A resume from checkpoint 10 trains steps 11… again: their old points go.
    state.apply([{"type": "run_started", "resumed_from": "/r/checkpoints/checkpoint-10"}])
    assert state.exec_accuracy == [(10, 0.25)]


async def test_monitor_charts_exec_accuracy_beside_val_loss(tmp_path):
    with_exec, _, without = three_runs(tmp_path / "runs")
    app = TunerApp(
        runs_dir=tmp_path / "runs",
        clock=fixed_clock,
        open_run=str(with_exec),
        start_pane="monitor",
        attach_running=False,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        monitor = app.monitor
        await wait_until(pilot, lambda: monitor.view is not None and monitor.view.status == "finished")
        chart = monitor.query_one("#chart-exec")
        await wait_until(pilot, lambda: chart.display, what="exec chart shown")
        assert [s.points for s in chart.series] == [[(2, 0.2), (4, 0.35)]]
        loss = monitor.query_one("#chart-loss")
        assert chart.x_range == loss.x_range == (1, 4)  # the same steps under both
        assert chart.parent is loss.parent  # beside it, in the first chart row
        assert "latest 35.0% of 20" in str(chart.border_subtitle)
        assert "exec 35% of 20" in text_of(monitor, "#mon-header")
        monitor.attach(without)
        await wait_until(pilot, lambda: monitor.view is not None and monitor.view.name == without.name)
        await wait_until(pilot, lambda: not chart.display, what="exec chart hidden")
        assert "exec" not in text_of(monitor, "#mon-header")
        assert loss.x_range is None  # back to its own range
