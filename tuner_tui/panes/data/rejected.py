"""The Data pane's Rejected view: the rows cleaning removed, with the step and the reason, searchable."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Static

from tuner_tui.panes.data.dataset import Dataset
from tuner_tui.panes.data.rows import SEARCH_DELAY
from tuner_tui.widgets.table import Column, VirtualTable

REJECTED_COLUMNS = (
    Column("step", lambda r: r.get("step", ""), width=10, style="yellow"),
    Column("reason", lambda r: r.get("reason", ""), ratio=1.0, searchable=True),
    Column("instruction", lambda r: r.get("instruction", ""), ratio=1.0, searchable=True),
    Column("command", lambda r: r.get("command", ""), ratio=0.8, style="bold", searchable=True),
)


class RejectedView(Vertical):
    """Search box, count, the rejected rows table and the highlighted row's detail."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset: Dataset | None = None
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Input(placeholder="search rejected rows / reasons", id="rej-search", compact=True)
            yield Static("", id="rej-count")
        yield VirtualTable(REJECTED_COLUMNS, id="rej-table", empty="no rejected rows")
        yield Static("", id="rej-detail", classes="detail")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#rej-table", VirtualTable)

    def show(self, ds: Dataset | None) -> None:
        """Show a dataset's rejected rows (no dataset: none)."""
        self.dataset = ds
        self.table.set_rows(ds.rejected if ds else [])
        self._count()

    def focus_search(self) -> None:
        """Put the cursor in the search box."""
        self.query_one("#rej-search", Input).focus()

    def _count(self) -> None:
        self.query_one("#rej-count", Static).update(f" {self.table.row_count:,} of {len(self.table.rows):,}")

    @on(Input.Changed, "#rej-search")
    def _search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._run_filter)

    @on(Input.Submitted, "#rej-search")
    def _search_submitted(self) -> None:
        self.table.focus()

    def _run_filter(self) -> None:
        if self.dataset is not None:
            self._filter(self.dataset, self.query_one("#rej-search", Input).value.strip())

    @work(thread=True, group="rej-filter", exclusive=True, exit_on_error=False)
    def _filter(self, ds: Dataset, query: str) -> None:
        index = ds.search("rejected", query)
        self.app.call_from_thread(self._filtered, ds, index, query)

    def _filtered(self, ds: Dataset, index: list[int] | None, query: str) -> None:
        if ds is self.dataset:
            self.table.set_filter(index, query)
            self._count()

    @on(VirtualTable.Highlighted, "#rej-table")
    def _row_highlighted(self, event: VirtualTable.Highlighted) -> None:
        r = event.row
        detail = self.query_one("#rej-detail", Static)
        if r is None:
            detail.update("")
            return
        t = Text()
        t.append(f"{r.get('step', '')}: ", style="yellow bold")
        t.append(str(r.get("reason", "")), style="yellow")
        t.append(f"\n{r.get('instruction', '')}\n$ ")
        t.append(str(r.get("command", "")), style="bold")
        t.append(f"\n{r.get('source', '')} · {r.get('row_id', '')}", style="dim")
        detail.update(t)
