"""The Data pane's Rows view: one split in a virtualized table, searched as you type, a row's detail."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from tuner_tui.panes.data.dataset import SPLITS, Dataset
from tuner_tui.widgets.table import Column, VirtualTable

ROW_COLUMNS = (
    Column("source", lambda ex: ex.source, width=10, style="dim"),
    Column("category", lambda ex: ex.category, width=13, style="dim"),
    Column("instruction", lambda ex: ex.instruction, ratio=1.2, searchable=True),
    Column("command", lambda ex: ex.command, ratio=1.0, style="bold", searchable=True),
)
SEARCH_DELAY = 0.2  # seconds of no typing before a search runs


class RowsView(Vertical):
    """Search box, split picker, row count, the rows table and the highlighted row's detail."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset: Dataset | None = None
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls"):
            yield Input(placeholder="search instruction / command", id="data-search", compact=True)
            yield Select(
                [(s, s) for s in SPLITS], value="train", allow_blank=False, id="data-split", compact=True
            )
            yield Static("", id="data-count")
        yield VirtualTable(ROW_COLUMNS, id="data-table", empty="no rows")
        yield Static("", id="data-detail", classes="detail")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#data-table", VirtualTable)

    @property
    def split(self) -> str:
        return str(self.query_one("#data-split", Select).value)

    def show(self, ds: Dataset | None) -> None:
        """Show a dataset's rows of the chosen split (no dataset: none), the search cleared."""
        self.dataset = ds
        self.query_one("#data-search", Input).value = ""
        has_category = bool(ds) and any(ex.category for ex in (ds.splits.get("train") or [])[:2000])
        self.table.set_columns([c for c in ROW_COLUMNS if has_category or c.title != "category"])
        self.table.set_rows(ds.splits.get(self.split, []) if ds else [])
        self._count()

    def focus_search(self) -> None:
        """Put the cursor in the search box."""
        self.query_one("#data-search", Input).focus()

    def _count(self) -> None:
        total, shown = len(self.table.rows), self.table.row_count
        self.query_one("#data-count", Static).update(
            f" {shown:,} of {total:,}" if shown != total else f" {total:,} rows"
        )

    @on(Input.Changed, "#data-search")
    def _search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._run_filter)

    @on(Input.Submitted, "#data-search")
    def _search_submitted(self) -> None:
        self.table.focus()

    @on(Select.Changed, "#data-split")
    def _split_changed(self, event: Select.Changed) -> None:
        if self.dataset is not None:
            self.table.set_rows(self.dataset.splits.get(str(event.value), []))
            self._run_filter()

    def _run_filter(self) -> None:
        if self.dataset is not None:
            self._filter(self.dataset, self.split, self.query_one("#data-search", Input).value.strip())

    @work(thread=True, group="rows-filter", exclusive=True, exit_on_error=False)
    def _filter(self, ds: Dataset, split: str, query: str) -> None:
        index = ds.search(split, query)  # 100K rows: off the UI thread
        self.app.call_from_thread(self._filtered, ds, index, query)

    def _filtered(self, ds: Dataset, index: list[int] | None, query: str) -> None:
        if ds is self.dataset:
            self.table.set_filter(index, query)
            self._count()

    @on(VirtualTable.Highlighted, "#data-table")
    def _row_highlighted(self, event: VirtualTable.Highlighted) -> None:
        ex = event.row
        detail = self.query_one("#data-detail", Static)
        if ex is None:
            detail.update("")
            return
        t = Text()
        t.append(ex.instruction)
        t.append("\n$ ", style="dim")
        t.append(ex.command, style="bold")
        meta = f"\n{ex.source} · {ex.row_id}" + (f" · {ex.category}" if ex.category else "")
        if ex.origin:
            subs = ", ".join(f"{k}: {o} → {n}" for k, o, n in ex.substitutions)
            meta += f" · augmented from {ex.origin} ({subs})"
        t.append(meta, style="dim")
        detail.update(t)
