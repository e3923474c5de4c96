"""Monitor pane: one run, live — loss/val loss/lr curves, throughput, memory, progress, samples, log.

Runs whose preset has `eval.exec = true` also get an exec-accuracy chart beside the loss chart
(the same steps on its x axis); it stays hidden for the others.

A timer polls the run's RunWatch in a worker thread (all file IO off the UI thread); whatever
arrived since the last poll — one event or a burst of thousands — is applied in one update.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Log, ProgressBar, Static

from core.terminal_text import visible
from core.units import fmt_bytes, fmt_seconds
from tuner_tui.fmt import (
    STATUS_ICON,
    STATUS_STYLE,
    fmt_ago,
    fmt_num,
    fmt_rate,
    short_path,
)
from tuner_tui.launcher import Launch
from tuner_tui.messages import (
    AttachRun,
    MonitorStatus,
    OpenInPlayground,
    ResumeRequested,
    ShowPane,
    StopLaunchRequested,
    StopRequested,
    StopSent,
)
from tuner_tui.settings import Settings
from tuner_tui.watch import QUIET_EXITS, RunView, RunWatch, WatchUpdate
from tuner_tui.widgets.chart import ChartSeries, LineChart, share_range

LOG_LINES = 500


def _bytes_axis(v: float) -> str:
    return fmt_bytes(v).replace(" ", "").replace("iB", "")


def _pct_axis(v: float) -> str:
    return f"{v:.0%}"


class MonitorPane(Vertical):
    """Follows the run chosen in the Runs pane (or the one just launched)."""

    BINDINGS = [
        Binding("s", "stop", "Stop run"),
        Binding("r", "resume", "Resume"),
        Binding("p", "playground", "Playground"),
        Binding("l", "log_end", "Log"),
        Binding("o", "choose", "Other run"),
    ]

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.watch: RunWatch | None = None
        self.view: RunView | None = None
        self._polling = False
        self._generation = 0  # bumps when another run is attached: late results are dropped
        self.updates = 0  # UI updates applied (tests and the latency bench read it)
        # While another pane is on screen, updates are kept here and drawn when the monitor is shown.
        self._dirty = False
        self._pending_lines: deque[str] = deque(maxlen=LOG_LINES)
        self._pending_reset = False
        self._header_lines = 0
        self._signatures: dict[str, Any] = {}
        self._progress: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text("no run selected — pick one in Runs (5), or launch one from Presets (2)", style="dim"),
            id="mon-header",
        )
        yield ProgressBar(total=None, show_eta=False, id="mon-progress")
        with VerticalScroll(id="mon-body"):
            with Horizontal(classes="chart-row", id="mon-row1"):
                yield LineChart("loss", id="chart-loss", classes="chart")
                yield LineChart("exec accuracy", id="chart-exec", classes="chart", y_fmt=_pct_axis)
                yield LineChart("learning rate", id="chart-lr", classes="chart", y_zero=True)
            with Horizontal(classes="chart-row", id="mon-row2"):
                yield LineChart(
                    "tokens/s",
                    id="chart-tps",
                    classes="chart small",
                    robust=True,
                    y_zero=True,
                    y_fmt=fmt_rate,
                )
                yield LineChart(
                    "memory", id="chart-mem", classes="chart small", y_zero=True, y_fmt=_bytes_axis
                )
            yield Static("", id="mon-samples", classes="box")
            yield Static("", id="mon-events", classes="box")
            log = Log(id="mon-log", max_lines=LOG_LINES, auto_scroll=True)
            log.border_title = "log"
            yield log

    def on_mount(self) -> None:
        self.query_one("#mon-samples", Static).border_title = "latest samples"
        self.query_one("#mon-events", Static).border_title = "run"
        self.query_one("#chart-exec").display = False  # until the run has an exec-checked evaluation
        self.set_interval(self.settings.poll_interval, self._tick)

    def focus_default(self) -> None:
        self.query_one("#mon-body").focus()

    # ------------------------------------------------------------------ attach

    @on(StopSent)
    def _stop_sent(self, message: StopSent) -> None:
        self.mark_stopping(message.run_dir)

    def mark_stopping(self, run_dir: Path) -> None:
        """Stop was confirmed for `run_dir`: say "stopping…" now, before the trainer's own word arrives."""
        if (
            self.watch is not None
            and self.watch.run_dir is not None
            and self.watch.run_dir.resolve() == Path(run_dir).resolve()
        ):
            self.watch.stop_sent = True  # the next poll (within its interval) shows it

    @on(AttachRun)
    def _attach_requested(self, message: AttachRun) -> None:
        self.attach(message.run_dir, message.launch)

    def attach(self, run_dir: Path | None, launch: Launch | None = None) -> None:
        """Follow another run (or a launch whose run directory does not exist yet)."""
        if self.watch is not None and run_dir is not None and self.watch.run_dir == Path(run_dir):
            if launch is not None:
                self.watch.set_launch(launch)
            self._tick()
            return
        self._generation += 1
        self.watch = RunWatch(run_dir, launch)
        self.view = None
        self._pending_lines.clear()
        self._pending_reset = False
        self._dirty = True
        self._signatures.clear()
        self._progress = None
        self.query_one("#mon-log", Log).clear()
        for chart in self.query(LineChart):
            chart.set_series([])
        self.query_one("#chart-exec").display = False  # the next run may not measure it
        self.query_one("#mon-samples", Static).update("")
        self.query_one("#mon-events", Static).update("")
        self.query_one("#mon-header", Static).update(Text(f"opening {self.watch.name}…", style="dim"))
        self._polling = False
        self._tick()

    @property
    def run_dir(self) -> Path | None:
        return self.watch.run_dir if self.watch is not None else None

    # ------------------------------------------------------------------ polling

    def _tick(self) -> None:
        if self.watch is None:
            return
        if not self._polling:
            self._polling = True
            self._poll(self.watch, self._generation)
        elif self.view is not None and self.on_screen:
            self._render_header(self.view)  # clock-dependent text (ETA, "x ago") still moves

    @work(thread=True, group="monitor-poll", exit_on_error=False)
    def _poll(self, watch: RunWatch, generation: int) -> None:
        try:
            update = watch.poll(now=self.settings.clock())
        except Exception as e:  # a bad file must not kill the monitor
            update = None
            self.app.call_from_thread(self.app.notify, f"monitor: {type(e).__name__}: {e}", severity="error")
        try:
            self.app.call_from_thread(self._apply, update, generation)
        except RuntimeError:
            pass  # app shutting down

    @property
    def on_screen(self) -> bool:
        return self.display  # the app shows a pane by its `display`

    def _apply(self, update: WatchUpdate | None, generation: int) -> None:
        self._polling = False
        if generation != self._generation:
            return
        if update is None:
            if self.view is not None and self.on_screen:
                self._render_header(self.view)
            return
        self.updates += 1
        view = update.view
        first = self.view is None
        self.view = view
        self.post_message(MonitorStatus(view.status))
        if update.reset:
            self._pending_lines.clear()
            self._pending_reset = True
        self._pending_lines.extend(update.log_lines)
        self._dirty = self._dirty or bool(update.new_events or update.reset or first)
        if self.on_screen:
            self._draw()

    def on_shown(self) -> None:
        """The monitor came on screen: draw what arrived meanwhile."""
        if self.view is not None:
            self._draw()

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        log = self.query_one("#mon-log", Log)
        if self._pending_reset:
            log.clear()
            self._pending_reset = False
        if self._pending_lines:
            # train.log quotes data and model text
            log.write_lines([visible(ln) for ln in self._pending_lines])
            self._pending_lines.clear()
        title = {"launch": "tuner output", "train.log": "train.log"}.get(view.log_source, "log")
        if log.border_title != title:
            log.border_title = title
        self._render_header(view)
        if self._dirty:
            self._dirty = False
            self._render_charts(view)
            self._render_samples(view)
            self._render_events(view)

    def _changed(self, key: str, signature: Any) -> bool:
        if self._signatures.get(key) == signature:
            return False
        self._signatures[key] = signature
        return True

    # ------------------------------------------------------------------ drawing

    def _render_header(self, view: RunView) -> None:
        now = self.settings.clock()
        status = view.status
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{STATUS_ICON.get(status, '?')} {view.name}  ", style="bold")
        t.append(status, style=STATUS_STYLE.get(status, ""))
        step, max_steps = view.step, view.max_steps
        if max_steps:
            t.append(f"  step {step or 0}/{max_steps}")
        elif step is not None:
            t.append(f"  step {step}")
        last = view.last_step or {}
        if status == "running":
            eta = last.get("eta_s")
            if isinstance(eta, (int, float)) and last.get("time"):
                eta = max(0.0, eta - max(0.0, now - last["time"]))
            t.append(f"  ETA {fmt_seconds(eta)}" if eta is not None else "  ETA –")
        elif (
            view.final is not None
            and view.final.get("type") == "finished"
            and status in ("finished", "interrupted")
        ):
            t.append(f"  in {fmt_seconds(view.final.get('elapsed_s'))} ({view.final.get('reason', '')})")
        t.append("\n")
        loss = view.train_loss[-1][1] if view.train_loss else None
        val = view.val_loss[-1][1] if view.val_loss else None
        t.append("loss ", style="dim")
        t.append(fmt_num(loss), style="cyan")
        t.append("  val ", style="dim")
        t.append(fmt_num(val), style="magenta")
        if view.best_val is not None and (
            val is None
            or view.best_val < val
            or view.best_step != (view.val_loss[-1][0] if view.val_loss else None)
        ):
            t.append(
                f" (best {fmt_num(view.best_val)}" + (f" @{view.best_step})" if view.best_step else ")"),
                style="dim",
            )
        if view.last_val and isinstance(view.last_val.get("exact_match"), (int, float)):
            t.append("  EM ", style="dim")
            t.append(f"{view.last_val['exact_match']:.0%}")
        if view.exec_accuracy:
            # The latest measured share (an evaluation cut short by a stop has none); its rows are
            # the same fixed sample at every evaluation.
            rows = (view.last_val or {}).get("exec_rows")
            t.append("  exec ", style="dim")
            t.append(f"{view.exec_accuracy[-1][1]:.0%}", style="green")
            if isinstance(rows, int) and rows > 0:
                t.append(f" of {rows}", style="dim")
        tps = last.get("tokens_per_s")
        t.append("  tok/s ", style="dim")
        t.append(fmt_rate(tps))
        mem = last.get("memory") or {}
        t.append("  rss ", style="dim")
        t.append(fmt_bytes(mem.get("rss_bytes")) if mem.get("rss_bytes") is not None else "–")
        if mem.get("accel_allocated_bytes") is not None:
            t.append("  accel ", style="dim")
            t.append(fmt_bytes(mem.get("accel_allocated_bytes")))
            if mem.get("gpu_util_pct") is not None:
                t.append(f" {mem['gpu_util_pct']:.0f}%")
        if view.partial:
            t.append("  · reading history…", style="dim")  # a long run's middle, read in bounded blocks
        if view.last_event_time is not None:
            t.append(f"  · {fmt_ago(view.last_event_time, now)}", style="dim")
        if view.final is not None and view.final.get("type") == "failed":
            t.append("\n")
            t.append(f"failed ({view.final.get('kind', '?')}): {view.final.get('message', '')}", style="red")
        elif status == "starting":
            t.append("\n")
            t.append(
                f"starting: pid {view.launch_pid or view.pid} is preparing data and loading the model…",
                style="italic dim",
            )
        elif view.stopping and status in ("running", "starting"):
            t.append("\n")
            t.append(
                "stopping… the trainer abandons any evaluation, finishes its step and saves a checkpoint",
                style="bold yellow",
            )
        elif view.launch_returncode not in (None, *QUIET_EXITS) and status != "running":
            t.append("\n")
            t.append(
                f"the last launch exited with code {view.launch_returncode}: see its output in the log below",
                style="red",
            )
        lines = t.plain.count("\n") + 1
        if self._changed("header", t.plain):
            self.query_one("#mon-header", Static).update(t, layout=lines != self._header_lines)
            self._header_lines = lines
        progress = (max_steps, step, status)
        if progress != self._progress:
            self._progress = progress
            bar = self.query_one("#mon-progress", ProgressBar)
            if max_steps:
                bar.update(total=max_steps, progress=step or 0)
            else:
                bar.update(total=None if status in ("starting", "running") else 1, progress=0)

    def _render_charts(self, view: RunView) -> None:
        x_range = None
        if view.exec_accuracy:
            # One step axis for both charts: an exec point sits beside the val-loss point of its eval.
            xs = [p[0] for s in (view.train_loss, view.val_loss, view.exec_accuracy) for p in s]
            x_range = (min(xs), max(xs))
        self.query_one("#chart-loss", LineChart).set_series(
            [ChartSeries("train", view.train_loss, "cyan"), ChartSeries("val", view.val_loss, "magenta")],
            x_range=x_range,
        )
        exec_chart = self.query_one("#chart-exec", LineChart)
        exec_chart.display = bool(view.exec_accuracy)
        if view.exec_accuracy:
            rows = (view.last_val or {}).get("exec_rows")
            line = [ChartSeries("", view.exec_accuracy, "green", "●")]
            exec_chart.set_series(
                line,
                summary=f"latest {view.exec_accuracy[-1][1]:.1%}" + (f" of {rows}" if rows else ""),
                x_range=x_range,
                y_range=share_range(line),
            )
        self.query_one("#chart-lr", LineChart).set_series([ChartSeries("", view.lr, "yellow")])
        tps = [p[1] for p in view.tokens_per_s[-5:]]
        avg = sorted(tps)[len(tps) // 2] if tps else None
        self.query_one("#chart-tps", LineChart).set_series(
            [ChartSeries("", view.tokens_per_s, "green")],
            summary=f"median(last 5) {fmt_rate(avg)}" if tps else "",
        )
        mem = [ChartSeries("rss", view.rss, "cyan")]
        if view.accel:
            mem.append(ChartSeries("accel", view.accel, "magenta"))
        self.query_one("#chart-mem", LineChart).set_series(mem)

    def _render_samples(self, view: RunView) -> None:
        box = self.query_one("#mon-samples", Static)
        sample = view.samples
        if not self._changed("samples", id(sample)):
            return
        if not sample:
            box.border_title = "latest samples"
            box.update(Text("no samples yet (written every eval.sample_every steps)", style="dim"))
            return
        box.border_title = f"samples @ step {sample.get('step', '?')}"
        parts = []
        for s in sample.get("samples", []):
            line = Text()
            line.append("› ", style="dim")
            line.append(visible(str(s.get("prompt", ""))), style="italic")
            line.append("\n  $ ", style="dim")
            cmd = s.get("command") or ""
            if cmd:
                line.append(visible(cmd.replace("\n", " ⏎ ")), style="bold")
            else:
                raw = (s.get("output") or "").strip().splitlines()
                line.append("(no command) " + visible(raw[0] if raw else "(empty)"), style="dim")
            if s.get("dangerous"):
                line.append(f"  ⚠ DANGEROUS: {s['dangerous']}", style="bold red")
            parts.append(line)
        box.update(Group(*parts))

    def _render_events(self, view: RunView) -> None:
        signature = (
            len(view.checkpoints),
            len(view.warnings),
            id(view.final),
            id(view.started),
            view.checkpoints[-1:],
            view.warnings[-1:],
        )
        if not self._changed("events", signature):
            return
        lines: list[Text] = []
        run_dir = str(view.run_dir) if view.run_dir else None
        for c in view.checkpoints[-4:]:
            t = Text("◆ ", style="green")
            t.append(f"{short_path(c.get('path'), run_dir)} (step {c.get('step')})")
            if c.get("is_best"):
                t.append(f"  best, val {fmt_num(c.get('val_loss'))}", style="green")
            lines.append(t)
        for w in view.warnings[-4:]:
            t = Text("! ", style="yellow bold")
            step = f"step {w['step']}: " if w.get("step") is not None else ""
            t.append(f"{step}{w.get('message', '')}", style="yellow")
            lines.append(t)
        final = view.final
        if final is not None and final.get("type") == "finished":
            t = Text(
                "✓ " if final.get("status") == "finished" else "■ ",
                style="green" if final.get("status") == "finished" else "yellow",
            )
            t.append(
                f"{final.get('status')} at step {final.get('step')} ({final.get('reason')}); adapter: "
                f"{short_path(final.get('adapter_dir'), run_dir) or '–'}"
            )
            lines.append(t)
        if final is not None and final.get("type") == "failed":
            t = Text(
                f"✗ failed ({final.get('kind', '?')}) at step {final.get('step')}: {final.get('message', '')}",
                style="red",
            )
            if final.get("hint"):
                t.append(f"\n  fix: {final['hint']}", style="italic")
            lines.append(t)
        if view.started:
            s = view.started
            info = Text(
                f"{s.get('model')} on {s.get('device')} ({s.get('dtype')}), {s.get('adapter')}, "
                f"{fmt_num(s.get('trainable_params'))} trainable / {fmt_num(s.get('total_params'))} params, "
                f"{s.get('train_rows')} train rows, batch {s.get('micro_batch_size')}×{s.get('grad_accum')}, "
                f"seq {s.get('max_seq_len')}",
                style="dim",
            )
            if s.get("resumed_from"):
                info.append(f", resumed from {short_path(s['resumed_from'], run_dir)}", style="dim")
            lines.insert(0, info)
        box = self.query_one("#mon-events", Static)
        box.update(Group(*lines) if lines else Text("nothing yet", style="dim"))

    # ------------------------------------------------------------------ actions

    def action_stop(self) -> None:
        if self.view is None or self.watch is None:
            self.app.notify("no run is open", severity="warning")
            return
        if self.view.status == "starting" and self.watch.launch is not None:
            self.post_message(StopLaunchRequested(self.watch.launch))
            return
        if self.run_dir is not None:
            self.post_message(StopRequested(self.run_dir))

    def action_resume(self) -> None:
        if self.run_dir is not None:
            self.post_message(ResumeRequested(self.run_dir))

    def action_playground(self) -> None:
        if self.run_dir is not None:
            self.post_message(OpenInPlayground(self.run_dir))

    def action_log_end(self) -> None:
        body = self.query_one("#mon-body", VerticalScroll)
        body.scroll_end(animate=False)
        self.query_one("#mon-log", Log).scroll_end(animate=False)

    def action_choose(self) -> None:
        self.post_message(ShowPane("runs"))
