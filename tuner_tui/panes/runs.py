"""Runs pane: every run under the runs root with status, steps and losses; Enter opens it."""

from __future__ import annotations

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
from tuner_tui.messages import OpenInPlayground, OpenRun, ResumeRequested, RunsListed, StopRequested
from tuner_tui.settings import Settings
from tuner_tui.widgets import update_if_changed


class RunsPane(Vertical):
    """The runs list (refreshed in a worker thread every few seconds); posts RunsListed after each listing."""

    BINDINGS = [
        Binding("enter", "open", "Open in monitor"),
        Binding("s", "stop", "Stop"),
        Binding("r", "resume", "Resume"),
        Binding("p", "playground", "Playground"),
        Binding("g", "refresh", "Refresh"),
    ]

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
        yield Static("", id="runs-detail", classes="detail")

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
        except Exception as e:
            self.app.call_from_thread(self.app.notify, f"cannot list runs: {e}", severity="error")
            infos = []
        finally:
            self._loading = False
        # A message, not a call: this pane may not be mounted yet (its queue holds it until it is),
        # and the app handles RunsListed too once the table shows the runs.
        self.post_message(RunsListed(infos))

    @on(RunsListed)
    def _listed(self, message: RunsListed) -> None:
        self._show(message.infos)

    def _show(self, infos: list[RunInfo]) -> None:
        self.infos = infos
        self.loaded = True
        table = self.table
        selected = self.selected_path()
        now = self.settings.clock()
        rows = []
        for r in infos:
            steps = f"{r.step or 0}/{r.max_steps}" if r.max_steps else str(r.step or 0)
            status = Text(
                f"{STATUS_ICON.get(r.status, '?')} {r.status}", style=STATUS_STYLE.get(r.status, "")
            )
            rows.append(
                (
                    str(r.path),
                    [
                        r.name,
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
        parts = [f"{info.path}", f"preset {info.preset or '–'}"]
        if info.pid:
            parts.append(f"pid {info.pid}")
        hint = {
            "running": "s: stop",
            "interrupted": "r: resume",
            "failed": "r: resume",
            "finished": "p: playground",
        }.get(info.status, "")
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
