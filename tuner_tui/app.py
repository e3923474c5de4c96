"""tuner-tui: the Textual workbench — Data, Presets, Monitor, Playground and Runs panes.

Start-up stays light (no torch/transformers/datasets; they load in worker threads when the
playground or the token counter needs them). Training runs are detached processes started by
tuner_tui.launcher; the monitor follows them through their run directories (tuner_tui.watch),
so closing this app never stops a run, and reopening it re-attaches to running ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.lazy import Lazy

from core.runs import RunInfo, runs_root
from tuner_tui.idle_gc import IdleCollector
from tuner_tui.job_control import JobControl
from tuner_tui.launcher import Launch
from tuner_tui.messages import (
    AttachRun,
    ExportRequested,
    LaunchRequested,
    MergeRequested,
    MonitorStatus,
    OpenData,
    OpenInPlayground,
    OpenRun,
    PresetSaved,
    PresetsChanged,
    ResumeRequested,
    RunsChanged,
    RunsListed,
    RunsWanted,
    SelectRun,
    ShowPane,
    StopLaunchRequested,
    StopRequested,
    StopSent,
)
from tuner_tui.panes.data import DataPane
from tuner_tui.panes.monitor import MonitorPane
from tuner_tui.panes.playground import PlaygroundPane
from tuner_tui.panes.presets import PresetsPane
from tuner_tui.panes.runs import RunsPane
from tuner_tui.settings import Settings
from tuner_tui.widgets.dialogs import ConfirmScreen
from tuner_tui.widgets.keybar import KeyBar
from tuner_tui.widgets.panebar import PaneBar

PANES = (
    ("data", "1", "Data"),
    ("presets", "2", "Presets"),
    ("monitor", "3", "Monitor"),
    ("playground", "4", "Playground"),
    ("runs", "5", "Runs"),
)


class TunerApp(App[None]):
    """The workbench: it owns the panes, handles their messages, and launches, stops and resumes runs.

    `clock` is injectable so tests render stable "x ago" text; `estimate_device` and
    `device_memory` pin the Presets pane's memory budget to a device (tests, screenshots).
    """

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere still find it
    TITLE = "tuner"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        # The pane bar shows the numbers already: keep the key bar for the pane's own keys.
        *(Binding(key, f"pane('{pane}')", label, show=False) for pane, key, label in PANES),
        Binding("escape", "leave_input", "Leave field", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        *,
        runs_dir: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] | None = None,
        poll_interval: float = 0.5,
        runs_interval: float = 3.0,
        start_pane: str | None = None,
        open_run: str | None = None,
        open_data: str | None = None,
        attach_running: bool = True,
        estimate_device: str | None = None,
        device_memory: tuple[str, int] | None = None,
    ) -> None:
        super().__init__()
        # No animations unless asked for (TEXTUAL_ANIMATIONS): over SSH they are bytes on the wire,
        # and the tab underline's glide re-rendered the tab bar ~10 times per pane switch.
        self.animation_level = os.environ.get("TEXTUAL_ANIMATIONS", "none")  # type: ignore[assignment]
        self.settings = Settings(
            runs_root=Path(runs_dir if runs_dir is not None else runs_root()).expanduser().absolute(),
            clock=clock or time.time,
            poll_interval=poll_interval,
            estimate_device=estimate_device,
            device_memory=device_memory,
        )
        self.runs_interval = runs_interval
        self.start_pane = start_pane or "runs"
        self.open_run_ref = open_run
        self.open_data_ref = open_data
        self.attach_running = attach_running and open_run is None
        self.launches: list[Launch] = []
        self._first_listing = True
        self._user_switched = False
        self._started = False
        self._active = self.start_pane
        self._running_listed = False
        self.idle_gc = IdleCollector()
        self.job_control = JobControl(self, lambda: self.runs_pane)  # the pane exists once composed

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # Panes are kept as attributes: App.query_one searches the active screen, which is a
        # dialog while one is open.
        self.data = DataPane(id="data-pane")
        self.presets = PresetsPane(self.settings, id="presets-pane")
        self.monitor = MonitorPane(self.settings, id="monitor-pane")
        self.playground = PlaygroundPane(self.settings, id="playground-pane")
        self.runs_pane = RunsPane(self.settings, id="runs-pane")
        self.pane_bar = PaneBar(
            [(pane, f"{key} {label}") for pane, key, label in PANES], self.start_pane, id="pane-bar"
        )
        yield self.pane_bar
        with Container(id="panes"):
            for pane, widget in self._panes().items():
                widget.display = pane == self.start_pane
                # Hidden panes mount after the first paint; messages posted to them wait in their queue.
                yield widget if pane == self.start_pane else Lazy(widget)
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        if self.sixteen_colours():
            self.theme = "ansi-dark"  # 16 colours: the terminal's own palette reads best
        self.set_interval(self.runs_interval, self._refresh_runs_if_needed)
        self.idle_gc.start()
        self.set_interval(0.5, self.idle_gc.tick)
        self.call_after_refresh(self._startup)  # after the first paint

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.idle_gc.touched()  # full collections wait until the user pauses
        await super().on_event(event)

    def on_unmount(self) -> None:
        self.idle_gc.stop()
        self.job_control.stop()  # an export/merge is this app's child: interrupted, it leaves no partial folder

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None:
        """Exit — once the lazily mounted panes are in (quitting mid-mount trips Textual widgets)."""
        pending = [p for p in self._panes().values() if not p.is_mounted]
        waited = getattr(self, "_exit_waits", 0)
        if pending and waited < 20 and self.is_running:
            self._exit_waits = waited + 1
            self.set_timer(0.05, lambda: self.exit(result, return_code, message))
            return
        super().exit(result, return_code, message)

    @asynccontextmanager
    async def run_test(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """App.run_test, which also lets the lazy panes finish mounting before it shuts the app down."""
        async with super().run_test(*args, **kwargs) as pilot:
            try:
                yield pilot
            finally:
                for _ in range(40):
                    if all(p.is_mounted for p in self._panes().values()):
                        break
                    await pilot.pause(0.05)

    def sixteen_colours(self) -> bool:
        """True on a 16-colour terminal (TEXTUAL_COLOR_SYSTEM=standard, or what the console detected)."""
        forced = os.environ.get("TEXTUAL_COLOR_SYSTEM", "").lower()
        if forced in ("standard", "windows"):
            return True
        if forced in ("256", "truecolor"):
            return False
        return not self.is_headless and self.console.color_system in ("standard", "windows")

    def _startup(self) -> None:
        """After the first paint: focus the start pane, list the runs (and re-attach)."""
        if self._started:
            return
        self._started = True
        import gc

        gc.freeze()  # the objects built at start-up live as long as the app: keep them out of GC passes
        self._focus_pane(self.active_pane)
        # Reading runs and data runs in worker threads, which compete with the first paint for the
        # GIL: they start after it.
        if self.open_run_ref:
            self._open_ref(self.open_run_ref)
        if self.open_data_ref:
            self.data.post_message(OpenData(self.open_data_ref))
        self.runs_pane.refresh_runs()

    def _panes(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "presets": self.presets,
            "monitor": self.monitor,
            "playground": self.playground,
            "runs": self.runs_pane,
        }

    @property
    def active_pane(self) -> str:
        return self._active

    # ------------------------------------------------------------------ navigation

    def action_pane(self, pane: str, focus: bool = True) -> None:
        """Show a pane (number keys, the pane bar) and put the focus in it (unless focus=False)."""
        self._user_switched = True
        panes = self._panes()
        if pane != self._active:
            # Only `display` changes: the panes stay mounted, with their state and scroll positions.
            panes[self._active].display = False
            panes[pane].display = True
            self._active = pane
            self.pane_bar.active = pane
            if pane == "runs":
                self.runs_pane.refresh_runs()
            shown = getattr(panes[pane], "on_shown", None)
            if shown is not None and panes[pane].is_mounted:  # not mounted yet: its on_mount does it
                shown()
        if focus:
            self._focus_pane(pane)

    def _focus_pane(self, pane: str) -> None:
        widget = self._panes()[pane]
        # Only the visible pane, and not under a dialog (the dialog keeps the focus).
        if self.screen is self.screen_stack[0] and self._active == pane:
            try:
                widget.focus_default()
            except Exception:  # not mounted yet
                pass

    def on_pane_bar_selected(self, event: PaneBar.Selected) -> None:
        self.action_pane(event.pane, focus=event.focus)

    def action_leave_input(self) -> None:
        """Escape: leave a text field for the pane bar, where the number keys (and ←/→) switch panes."""
        if self.screen is self.screen_stack[0]:
            self.pane_bar.focus()

    # ------------------------------------------------------------------ runs

    def _refresh_runs_if_needed(self) -> None:
        # While a listed run is running, keep listing (a scan costs ~0.3 ms): the bar's "5 Runs ▶N"
        # must drop the run when it ends, whichever pane is shown.
        if self.active_pane == "runs" or self._first_listing or self._running_listed:
            self.runs_pane.refresh_runs()

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        """After every listing: re-attach on start, the running count in the tab, the playground's models."""
        infos: list[RunInfo] = message.infos
        running = [r for r in infos if r.status == "running"]
        self._running_listed = bool(running)
        self._set_tab_label("runs", f"5 Runs ▶{len(running)}" if running else "5 Runs")
        if self._first_listing:
            self._first_listing = False
            if self.attach_running and self.monitor.watch is None and infos:
                if running:
                    self.monitor.post_message(AttachRun(running[0].path, self._launch_for(running[0].path)))
                    if not self._user_switched:
                        self.action_pane("monitor")
                        self._user_switched = False
                    self.notify(f"re-attached to running run {running[0].name}")
                else:
                    self.monitor.post_message(AttachRun(infos[0].path))
        self.playground.post_message(RunsChanged(infos))

    @on(MonitorStatus)
    def _monitor_status(self, message: MonitorStatus) -> None:
        label = {"running": "3 Monitor ▶", "starting": "3 Monitor …"}.get(message.status, "3 Monitor")
        self._set_tab_label("monitor", label)

    @on(RunsWanted)
    def _runs_wanted(self) -> None:
        self.runs_pane.refresh_runs()

    @on(ShowPane)
    def _show_pane(self, message: ShowPane) -> None:
        self.action_pane(message.pane)

    @on(PresetSaved)
    def _preset_saved(self) -> None:
        self.data.post_message(PresetsChanged())

    def _set_tab_label(self, pane: str, label: str) -> None:
        self.pane_bar.set_label(pane, label)

    def _launch_for(self, run_dir: Path) -> Launch | None:
        for launch in reversed(self.launches):
            if launch.run_dir is not None and Path(launch.run_dir) == Path(run_dir):
                return launch
        return None

    @work(thread=True, group="open-run", exit_on_error=False)
    def _open_ref(self, ref: str) -> None:
        """`tuner-tui RUN`: resolve the name in a worker ("latest" reads every run's events)."""
        from core.errors import TunerError
        from core.runs import resolve_run

        try:
            path = resolve_run(ref, self.settings.runs_root)
        except TunerError as e:
            self.call_from_thread(self.notify, str(e), severity="error")
            return
        self.call_from_thread(self.open_run, path)

    @on(OpenRun)
    def _open_run_requested(self, message: OpenRun) -> None:
        self.open_run(message.run_dir)

    def open_run(self, run_dir: Path) -> None:
        """Show a run in the monitor."""
        self.monitor.post_message(AttachRun(Path(run_dir), self._launch_for(Path(run_dir))))
        self.action_pane("monitor")

    @on(OpenInPlayground)
    def _playground_requested(self, message: OpenInPlayground) -> None:
        self.open_playground(message.run_dir)

    def open_playground(self, run_dir: Path) -> None:
        """Show the playground with a run's adapter as A and its base model as B."""
        self.playground.post_message(SelectRun(Path(run_dir)))
        self.action_pane("playground")

    # ------------------------------------------------------------------ launching

    @on(LaunchRequested)
    def _launch_requested(self, message: LaunchRequested) -> None:
        self.launch_run(message.target, overrides=message.overrides, smoke=message.smoke)

    def launch_run(
        self, target: str, *, overrides: list[str] | None = None, smoke: bool = False, cwd: str | None = None
    ) -> None:
        """Start `tuner run` detached and follow it in the monitor."""
        self._launch(target, overrides or [], smoke, cwd)

    @work(thread=True, group="launch", exit_on_error=False)
    def _launch(self, target: str, overrides: list[str], smoke: bool, cwd: str | None) -> None:
        from tuner_tui import launcher

        try:
            launch = launcher.launch(
                target, overrides=overrides, smoke=smoke, root=self.settings.runs_root, cwd=cwd
            )
        except Exception as e:
            self.call_from_thread(self.notify, f"launch failed: {e}", severity="error")
            return
        self.call_from_thread(self._launched, launch)

    def _launched(self, launch: Launch) -> None:
        self.launches.append(launch)
        kind = "smoke test" if launch.kind == "smoke" else "run"
        self.notify(f"started {kind} of {launch.label} (pid {launch.pid}); it keeps running if you quit")
        self.monitor.post_message(AttachRun(launch.run_dir, launch))
        self.action_pane("monitor")

    @on(ResumeRequested)
    def _resume_requested(self, message: ResumeRequested) -> None:
        self.resume_run(message.run_dir)

    def resume_run(self, run_dir: Path) -> None:
        """Start `tuner run --resume` on an interrupted or failed run, detached, and follow it."""
        self._resume(Path(run_dir))

    @work(thread=True, group="launch", exit_on_error=False)
    def _resume(self, run_dir: Path) -> None:
        from tuner_tui import launcher

        try:
            launch = launcher.resume(run_dir, root=self.settings.runs_root)
        except launcher.StopError as e:
            self.call_from_thread(self.notify, str(e), severity="warning")
            return
        except Exception as e:
            self.call_from_thread(self.notify, f"resume failed: {e}", severity="error")
            return
        self.call_from_thread(self._resumed, launch, run_dir)

    def _resumed(self, launch: Launch, run_dir: Path) -> None:
        launch.run_dir = run_dir
        self.launches.append(launch)
        self.notify(f"resuming {run_dir.name} (pid {launch.pid})")
        self.monitor.post_message(AttachRun(run_dir, launch))
        self.action_pane("monitor")

    @on(ExportRequested)
    def _export_requested(self, message: ExportRequested) -> None:
        self.job_control.export(message)

    @on(MergeRequested)
    def _merge_requested(self, message: MergeRequested) -> None:
        self.job_control.merge(message)

    @on(StopRequested)
    def _stop_requested(self, message: StopRequested) -> None:
        self.confirm_stop(message.run_dir)

    def confirm_stop(self, run_dir: Path) -> None:
        """Ask, then SIGTERM the trainer (it saves a checkpoint and ends 'interrupted')."""

        def done(yes: bool | None) -> None:
            if yes:
                self._stop(run_dir)

        self.push_screen(
            ConfirmScreen(
                "Stop run",
                f"Stop {run_dir.name}?\n\nThe trainer finishes its step, saves a checkpoint "
                "and ends as 'interrupted'; resume it later with r.",
                yes="Stop",
            ),
            done,
        )

    @work(thread=True, group="stop", exit_on_error=False)
    def _stop(self, run_dir: Path) -> None:
        from tuner_tui import launcher

        try:
            pid = launcher.stop_run(run_dir)
        except launcher.StopError as e:
            self.call_from_thread(self.notify, str(e), severity="warning")
            return
        except OSError as e:
            self.call_from_thread(self.notify, f"cannot signal the trainer: {e}", severity="error")
            return
        self.monitor.post_message(StopSent(run_dir))  # thread-safe, like call_from_thread
        self.call_from_thread(self.notify, f"sent SIGTERM to {pid}: checkpointing and stopping…")

    @on(StopLaunchRequested)
    def _stop_launch_requested(self, message: StopLaunchRequested) -> None:
        self.confirm_stop_launch(message.launch)

    def confirm_stop_launch(self, launch: Launch) -> None:
        """Ask, then SIGTERM a launch that is still loading (it has no run directory yet)."""

        def done(yes: bool | None) -> None:
            if yes:
                from tuner_tui.launcher import stop_launch

                try:
                    stop_launch(launch)
                    self.notify(f"sent SIGTERM to {launch.pid}")
                except OSError as e:
                    self.notify(f"cannot signal {launch.pid}: {e}", severity="error")

        self.push_screen(
            ConfirmScreen(
                "Stop launch",
                f"{launch.label} is still loading (pid {launch.pid}). Stop it? Nothing has been trained yet.",
                yes="Stop",
            ),
            done,
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point of `tuner-tui`."""
    p = argparse.ArgumentParser(
        prog="tuner-tui",
        description="Terminal workbench for tuner: data, presets, monitor, playground, runs.",
    )
    p.add_argument("run", nargs="?", help="open this run in the monitor (path, name, prefix or 'latest')")
    p.add_argument("--runs-dir", help="runs folder (default $TUNER_RUNS_DIR or ./runs)")
    p.add_argument(
        "--data",
        metavar="PRESET_OR_DIR",
        help="open this preset's data (or a built data directory, or a data file) in the Data pane",
    )
    p.add_argument("--pane", choices=[name for name, _, _ in PANES], help="pane to start on")
    args = p.parse_args(argv)
    start = args.pane or ("monitor" if args.run else "data" if args.data else None)
    app = TunerApp(runs_dir=args.runs_dir, start_pane=start, open_run=args.run, open_data=args.data)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
