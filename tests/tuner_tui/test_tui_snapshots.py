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


def _snap_preset(monkeypatch) -> None:
    """A user preset at a fixed path (the pane shows the path), a copy of quickstart named "snap"."""
    import shutil

    from tui_support import FIXED_ROOT

    from core.config.loader import resolve_preset_path

    folder = FIXED_ROOT / "user-presets"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    text = resolve_preset_path("quickstart").read_text(encoding="utf-8")
    (folder / "snap.toml").write_text(
        text.replace('name = "quickstart"', 'name = "snap"', 1), encoding="utf-8"
    )
    monkeypatch.setenv("TUNER_PRESETS_DIR", str(folder))


def test_presets_budget_130x64(empty_runs, snap_compare, monkeypatch):
    """The form of a user preset, validated, and its memory budget against a pinned 16 GiB of RAM."""
    _snap_preset(monkeypatch)
    app = TunerApp(
        clock=fixed_clock,
        start_pane="presets",
        attach_running=False,
        estimate_device="cpu",
        device_memory=("test machine (RAM)", 16 * 2**30),
    )

    async def ready(pilot):
        from textual.widgets import OptionList

        presets = app.presets
        await _settle(pilot, lambda: any(p.name == "snap" for p in presets.presets))
        names = [p.name for p in presets.presets]
        app.query_one("#preset-list", OptionList).highlighted = names.index("snap")
        await _settle(pilot, lambda: presets.current is not None and presets.current.name == "snap")
        await _settle(pilot, lambda: "fits" in str(app.query_one("#preset-estimate").render()))
        app.query_one("#preset-list").focus()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(130, 64), run_before=ready)


def test_playground_answers_100x30(runs_dir, snap_compare, monkeypatch):
    """A (the run's adapter) against B (its base): streamed answers, the command, its danger flag."""
    from types import SimpleNamespace

    import core.generate
    from tuner_tui import hf_loading

    def fake_load(run_dir, base=False, checkpoint=None, preset=None):
        return SimpleNamespace(model="base" if base else "adapter")

    def fake_stream(loaded, prompt, max_new_tokens=128, stop=None):
        text = "```bash\nrm -rf /\n```" if loaded.model == "adapter" else "ls -la /tmp"
        yield from (text[i : i + 4] for i in range(0, len(text), 4))

    monkeypatch.setattr(hf_loading, "load_run_model", fake_load)
    monkeypatch.setattr(core.generate, "stream_reply", fake_stream)
    app = TunerApp(clock=fixed_clock, start_pane="playground", attach_running=False)

    async def ready(pilot):
        pg = app.playground
        await _settle(pilot, lambda: bool(pg.choices) and pg.query_one("#pg-out-b").display)
        prompt = app.query_one("#pg-prompt")
        prompt.value = "delete the old files in /tmp"
        await pilot.press("enter")
        await _settle(
            pilot,
            lambda: all(
                "done in" in str(p.query_one(".answer-status").render()) for p in pg.query(".answer")
            ),
        )

    assert snap_compare(app, terminal_size=(100, 30), run_before=ready)


def _runs_dialog(key: str, marks: tuple[int, ...] = ()):
    """Runs pane, `marks` rows marked with space, then `key` opens a dialog."""

    async def ready(pilot):
        app = pilot.app
        await _settle(pilot, lambda: app.runs_pane.loaded)
        for row in marks:
            app.runs_pane.table.move_cursor(row=row)
            await pilot.press("space")
        await pilot.press(key)
        await _settle(pilot, lambda: len(app.screen_stack) > 1)

    return ready


def test_export_dialog_gguf_80x24(runs_dir, snap_compare, monkeypatch):
    """Export: GGUF picked, the quant types this machine cannot write dimmed with their reason."""
    import core.export.gguf

    quants = {
        "f16": None,
        "bf16": None,
        "q8_0": None,
        "q4_k_m": "needs llama.cpp's quantizer: pip install it",
    }
    monkeypatch.setattr(core.export.gguf, "available_quants", lambda: quants)
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    opened = _runs_dialog("e")

    async def ready(pilot):
        await opened(pilot)
        pilot.app.screen.query_one("#ex-gguf").value = True
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_merge_dialog_80x24(runs_dir, snap_compare):
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_runs_dialog("m", marks=(0, 1)))
