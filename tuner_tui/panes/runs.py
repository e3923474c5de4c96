"""Runs pane: every run under the runs root with status, steps and losses; Enter opens it.

`e` exports the selected run and `m` merges the runs marked with space, through dialogs; the app
runs `tuner export`/`tuner merge` and sends their progress back here (JobUpdate). `c` compares the
marked runs (curves, final metrics, preset differences) on a screen of its own.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from core.runs import RunInfo
from tuner_tui.fmt import STATUS_ICON, STATUS_STYLE, fmt_ago, fmt_num, fmt_time, short_model
from tuner_tui.jobs import SPINNER
from tuner_tui.messages import (
    ExportRequested,
    JobUpdate,
    MergeRequested,
    OpenInPlayground,
    OpenRun,
    ResumeRequested,
    RunsListed,
    StopRequested,
)
from tuner_tui.settings import Settings
from tuner_tui.widgets import update_if_changed


class RunsPane(Vertical):
    """The runs list (refreshed in a worker thread every few seconds); posts RunsListed after each listing."""

    BINDINGS = [
        Binding("enter", "open", "Open in monitor"),
        Binding("s", "stop", "Stop"),
        Binding("r", "resume", "Resume"),
        Binding("p", "playground", "Playground"),
        # Listed again every few seconds anyway: off the key bar, which has room for 80 columns of keys.
        Binding("g", "refresh", "Refresh", show=False),
        Binding("e", "export", "Export"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("m", "merge", "Merge"),
    ]
    MARK = "● "  # before the name of a marked run (to compare or to merge)

    COLUMNS = ("run", "status", "steps", "loss", "best", "updated", "model", "started")

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self._keys: list[str] = []
        self._cells: list[list[Any]] = []
        self.infos: list[RunInfo] = []
        self._loading = False
        self.loaded = False
        self.scanner: Any = None  # tuner_tui.watch.RunsScanner, used by one worker at a time
        self.marked: list[str] = []  # run paths marked to compare or merge, in marking order
        self.merges: dict[str, str] = {}  # run path → "linear merge of a + b"
        self._merge_cache: dict[str, tuple[float, str | None]] = {}  # path → (provenance mtime, summary)
        self.job: Any = None  # the latest tuner_tui.jobs.Job
        self._spin = 0

    def compose(self) -> ComposeResult:
        yield Static("runs: reading…", id="runs-title", classes="pane-title")
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        for key, title in zip(
            self.COLUMNS,
            ("run", "status", "steps", "loss", "best val", "updated", "model", "started"),
            strict=True,
        ):
            table.add_column(title, key=key)
        yield table
        yield Static("", id="runs-job", classes="detail")
        yield Static("", id="runs-detail", classes="detail")

    def on_mount(self) -> None:
        self.query_one("#runs-job").display = False
        self.set_interval(0.25, self._tick)

    def focus_default(self) -> None:
        self.query_one(DataTable).focus()

    @property
    def table(self) -> DataTable:
        return self.query_one("#runs-table", DataTable)

    def refresh_runs(self) -> None:
        """List the runs in a worker (reading events files is IO)."""
        if not self._loading:
            self._loading = True
            self._list_runs()

    @work(thread=True, exclusive=False, group="runs-list", exit_on_error=False)
    def _list_runs(self) -> None:
        from tuner_tui.watch import RunsScanner

        try:
            if self.scanner is None or self.scanner.root != self.settings.runs_root:
                self.scanner = RunsScanner(self.settings.runs_root)
            infos = self.scanner.scan(now=self.settings.clock())
            merges = self._merges(infos)
        except Exception as e:
            self.app.call_from_thread(self.app.notify, f"cannot list runs: {e}", severity="error")
            infos, merges = [], {}
        finally:
            self._loading = False
        # A message, not a call: this pane may not be mounted yet (its queue holds it until it is),
        # and the app handles RunsListed too once the table shows the runs.
        self.post_message(RunsListed(infos, merges))

    def _merges(self, infos: list[RunInfo]) -> dict[str, str]:
        """(worker) The runs `tuner merge` wrote, as their provenance says (re-read only when it changes)."""
        from tuner_tui.jobs import merge_summary

        found = {}
        for r in infos:
            if r.status != "finished" or r.step:  # a merge ends at step 0
                continue
            key = str(r.path)
            try:
                mtime = (Path(r.path) / "provenance.json").stat().st_mtime
            except OSError:
                continue
            cached = self._merge_cache.get(key)
            if cached is None or cached[0] != mtime:
                cached = self._merge_cache[key] = (mtime, merge_summary(Path(r.path)))
            if cached[1]:
                found[key] = cached[1]
        return found

    @on(RunsListed)
    def _listed(self, message: RunsListed) -> None:
        self.merges = message.merges
        self._show(message.infos)

    def _show(self, infos: list[RunInfo]) -> None:
        self.infos = infos
        self.loaded = True
        table = self.table
        selected = self.selected_path()
        now = self.settings.clock()
        rows = []
        paths = {str(r.path) for r in infos}
        self.marked = [p for p in self.marked if p in paths]
        for r in infos:
            steps = f"{r.step or 0}/{r.max_steps}" if r.max_steps else str(r.step or 0)
            merged = str(r.path) in self.merges
            if merged:
                steps = "–"  # a merge trains nothing
            status = Text(
                f"{STATUS_ICON.get(r.status, '?')} {'merged' if merged else r.status}",
                style=STATUS_STYLE.get(r.status, ""),
            )
            rows.append(
                (
                    str(r.path),
                    [
                        self.MARK + r.name if str(r.path) in self.marked else r.name,
                        status,
                        steps,
                        fmt_num(r.last_loss),
                        fmt_num(r.best_val_loss),
                        fmt_ago(r.updated, now),
                        short_model(r.model),
                        fmt_time(r.started),
                    ],
                )
            )
        keys = [k for k, _ in rows]
        if keys == self._keys:  # same runs: update the cells that changed (no relayout, cursor stays)
            for (key, cells), old in zip(rows, self._cells, strict=True):
                for col, (new_value, old_value) in enumerate(zip(cells, old, strict=True)):
                    if str(new_value) != str(old_value) or getattr(new_value, "style", None) != getattr(
                        old_value, "style", None
                    ):
                        table.update_cell(key, self.COLUMNS[col], new_value)
            self._cells = [cells for _, cells in rows]
            selected = None
        else:
            table.clear()
            for key, cells in rows:
                table.add_row(*cells, key=key)
            self._keys, self._cells = keys, [cells for _, cells in rows]
        if selected is not None:
            for i, r in enumerate(infos):
                if str(r.path) == selected:
                    table.move_cursor(row=i, animate=False)
                    break
        running = sum(1 for r in infos if r.status == "running")
        root = self.settings.runs_root
        update_if_changed(
            self.query_one("#runs-title", Static),
            Text.assemble(
                ("runs ", "bold"),
                (str(root), "dim"),
                f"  {len(infos)} run{'s' if len(infos) != 1 else ''}",
                (f", {running} running" if running else "", "cyan"),
            ),
        )
        if not infos:
            update_if_changed(
                self.query_one("#runs-detail", Static),
                "no runs yet: launch one from the Presets pane (2), or `tuner run` in a shell",
            )
        else:
            self._show_detail()

    def selected_path(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return key.value

    def selected_info(self) -> RunInfo | None:
        path = self.selected_path()
        return next((r for r in self.infos if str(r.path) == path), None)

    def _show_detail(self) -> None:
        info = self.selected_info()
        if info is None:
            return
        parts = [f"{info.path}", self.merges.get(str(info.path)) or f"preset {info.preset or '–'}"]
        if info.pid:
            parts.append(f"pid {info.pid}")
        hint = {
            "running": "s: stop",
            "interrupted": "r: resume",
            "failed": "r: resume",
            "finished": "p: playground · e: export",
        }.get(info.status, "")
        if self.marked:
            hint += f"   {len(self.marked)} marked · c: compare · m: merge"
        update_if_changed(
            self.query_one("#runs-detail", Static),
            Text.assemble(("  ·  ".join(parts), "dim"), ("   " + hint if hint else "", "italic")),
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        info = self.selected_info()
        if info is not None:
            self.post_message(OpenRun(Path(info.path)))

    def action_refresh(self) -> None:
        self.refresh_runs()

    def action_stop(self) -> None:
        info = self.selected_info()
        if info is not None:
            self.post_message(StopRequested(Path(info.path)))

    def action_resume(self) -> None:
        info = self.selected_info()
        if info is not None:
            self.post_message(ResumeRequested(Path(info.path)))

    def action_playground(self) -> None:
        info = self.selected_info()
        if info is not None:
            self.post_message(OpenInPlayground(Path(info.path)))

    # ------------------------------------------------------------------ compare, export, merge

    def action_mark(self) -> None:
        """Mark (or unmark) the selected run, for comparing (c) or merging (m)."""
        info = self.selected_info()
        if info is None:
            return
        path = str(info.path)
        if path in self.marked:
            self.marked.remove(path)
            cell = info.name
        else:
            self.marked.append(path)
            cell = self.MARK + info.name
        self.table.update_cell(path, "run", cell, update_width=True)  # the marker widens the column
        self._cells[self._keys.index(path)][0] = cell
        self._show_detail()

    def action_compare(self) -> None:
        """The comparison of the marked runs (a screen of its own; Escape comes back here)."""
        if len(self.marked) < 2:
            have = f" ({len(self.marked)} marked)" if self.marked else ""
            self.app.notify(
                f"mark at least two runs with space{have}, then c compares them", severity="warning"
            )
            return
        from tuner_tui.widgets.compare_view import CompareScreen

        self.app.push_screen(CompareScreen([Path(p) for p in self.marked], clock=self.settings.clock))

    def action_export(self) -> None:
        """The export dialog for the selected run; its choice goes to the app as ExportRequested."""
        info = self.selected_info()
        if info is None:
            return
        if info.status == "running":
            self.app.notify(f"{info.name} is still training: export it once it has ended", severity="warning")
            return
        from tuner_tui.widgets.export_dialog import ExportChoice, ExportScreen

        try:
            from core.export.gguf import available_quants

            quants = available_quants()
        except Exception as e:  # core without GGUF support: merged and adapter still work
            quants = {"f16": f"GGUF export is not available: {e}"}
        run_dir = Path(info.path)

        def chosen(choice: ExportChoice | None) -> None:
            if choice is not None:
                self.post_message(
                    ExportRequested(run_dir, choice.fmt, choice.quant, choice.ollama, choice.force)
                )

        self.app.push_screen(ExportScreen(info.name, quants), chosen)

    def action_merge(self) -> None:
        """The merge dialog for the marked runs; its choice goes to the app as MergeRequested."""
        if len(self.marked) < 2:
            self.app.notify("mark two or more runs with space first, then m merges them", severity="warning")
            return
        from tuner_tui.widgets.merge_dialog import MergeChoice, MergeScreen

        runs = [Path(p) for p in self.marked]

        def chosen(choice: MergeChoice | None) -> None:
            if choice is not None:
                self.post_message(
                    MergeRequested(
                        runs, choice.out, choice.method, choice.weights, choice.density, choice.force
                    )
                )

        self.app.push_screen(MergeScreen([r.name for r in runs]), chosen)

    @on(JobUpdate)
    def _job_update(self, message: JobUpdate) -> None:
        job = self.job = message.job
        if not job.running and job.ok and job.kind == "merge":
            self.marked = []  # merged: the marks did their job (the new run shows at the next listing)
            self.refresh_runs()
        self._show_job()

    def _tick(self) -> None:
        if self.job is not None and self.job.running:
            self._spin += 1
            self._show_job()

    def _show_job(self) -> None:
        job, line = self.job, self.query_one("#runs-job", Static)
        if job is None:
            return
        line.display = True
        if job.running:
            text = Text.assemble(
                (SPINNER[self._spin % len(SPINNER)] + " ", "cyan"),
                (job.label, "bold"),
                f": {job.step}",
                (f"  {time.time() - job.started:.0f} s", "dim"),
            )
        elif job.ok:
            text = Text.assemble(("✓ ", "green"), (job.label, "bold"), " → ", job.result())
        else:
            text = Text.assemble(("✗ ", "red"), (job.label, "bold"), " failed: ", (job.result(), "red"))
        update_if_changed(line, text)
