"""A virtual table for large datasets: renders only the visible rows (Textual's Line API).

`DataTable` builds every row up front; 100K rows take seconds and hundreds of MB. This table
keeps a reference to the row objects and an optional filtered index, and formats the ~20
rows on screen when they are drawn, so scrolling a 100K-row split costs the same as 100 rows.
The header stays pinned on the first line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.terminal_text import visible


@dataclass(frozen=True)
class Column:
    """A column: fixed `width` cells, or a share (`ratio`) of the width left over."""

    title: str
    get: Callable[[Any], str]
    width: int | None = None
    ratio: float = 1.0
    style: str = ""
    searchable: bool = False  # matches of the search term are highlighted here


def _clean(text: str) -> str:
    """One line of a dataset cell, its control characters made visible (a data file is not ours)."""
    return visible(text.replace("\r", "").replace("\n", " ⏎ ").replace("\t", " "))


def fit(text: str, width: int) -> str:
    """Pad or crop (with an ellipsis) to exactly `width` cells."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


class VirtualTable(ScrollView, can_focus=True):
    """Rows of any objects, formatted by `Column.get`, drawn lazily; a cursor row; Enter selects."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    COMPONENT_CLASSES = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--match",
        "virtual-table--odd",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        scrollbar-size-horizontal: 0;
        background: $surface;
    }
    VirtualTable > .virtual-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    VirtualTable > .virtual-table--cursor {
        background: $secondary 30%;
    }
    VirtualTable:focus > .virtual-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    VirtualTable > .virtual-table--match {
        color: $warning;
        text-style: bold underline;
    }
    VirtualTable > .virtual-table--odd {
        background: $surface-lighten-1 30%;
    }
    """

    cursor = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        """The cursor moved to a row."""

        def __init__(self, table: VirtualTable, row: Any | None, position: int) -> None:
            super().__init__()
            self.table, self.row, self.position = table, row, position

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Highlighted):
        """Enter or a click on the cursor row."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        empty: str = "no rows",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self.rows: Sequence[Any] = []
        self.index: list[int] | None = None
        self.search = ""
        self.empty = empty
        self._widths: tuple[int, list[int]] = (-1, [])
        self._cache: LRUCache[tuple[int, int, bool, int], Strip] = LRUCache(256)

    # ------------------------------------------------------------------ data

    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        return len(self.index) if self.index is not None else len(self.rows)

    def row_at(self, position: int) -> Any | None:
        """The row object at a position of the (filtered) view."""
        if not 0 <= position < self.row_count:
            return None
        return self.rows[self.index[position]] if self.index is not None else self.rows[position]

    @property
    def cursor_row(self) -> Any | None:
        return self.row_at(self.cursor)

    def set_rows(self, rows: Sequence[Any], index: list[int] | None = None, search: str = "") -> None:
        """Show new rows (and optionally a filtered view of them); the cursor goes to the top."""
        self.rows, self.index, self.search = rows, index, search
        self._cache.clear()
        self._update_virtual_size()
        self.scroll_to(y=0, animate=False)
        self.cursor = 0
        self.refresh()

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Change the columns (e.g. hide one that is empty in this data)."""
        self.columns = list(columns)
        self._widths = (-1, [])
        self._cache.clear()
        self.refresh()

    def set_filter(self, index: list[int] | None, search: str = "") -> None:
        """Show only `index` positions of the rows (None: all), highlighting `search`."""
        self.set_rows(self.rows, index, search)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.row_count + 1)

    def on_resize(self, event: Resize) -> None:
        self._cache.clear()
        self._update_virtual_size()

    # ------------------------------------------------------------------ cursor

    def watch_cursor(self, cursor: int) -> None:
        self._cache.clear()
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, self.cursor_row, cursor))

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.row_count - 1)) if self.row_count else 0

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        visible = self._visible_rows()
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * self._visible_rows()

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else self.row_count - 1

    def action_select(self) -> None:
        if self.row_count:
            self.post_message(self.Selected(self, self.cursor_row, self.cursor))

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        position = int(self.scroll_offset.y) + offset.y - 1
        if 0 <= position < self.row_count:
            if position == self.cursor and event.chain >= 2:
                self.action_select()
            self.cursor = position

    # ------------------------------------------------------------------ drawing

    def _column_widths(self, width: int) -> list[int]:
        if self._widths[0] == width:
            return self._widths[1]
        gaps = len(self.columns) - 1
        fixed = sum(c.width or 0 for c in self.columns)
        flex = [c for c in self.columns if c.width is None]
        left = max(0, width - fixed - gaps)
        total_ratio = sum(c.ratio for c in flex) or 1.0
        widths, used = [], 0
        for c in self.columns:
            if c.width is not None:
                widths.append(c.width)
            else:
                w = int(left * c.ratio / total_ratio)
                widths.append(w)
                used += w
        if flex:  # rounding leftovers go to the last flexible column
            last = max(i for i, c in enumerate(self.columns) if c.width is None)
            widths[last] += left - used
        self._widths = (width, widths)
        return widths

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(width)
        position = int(self.scroll_offset.y) + y - 1
        if position >= self.row_count:
            if self.row_count == 0 and y == 1:
                return Strip([Segment(fit(self.empty, width), Style(dim=True))], width)
            return Strip.blank(width, self.rich_style)
        key = (position, width, position == self.cursor, id(self.rows))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        strip = self._row_strip(position, width)
        self._cache[key] = strip
        return strip

    def _header(self, width: int) -> Strip:
        style = self.get_component_rich_style("virtual-table--header")
        widths = self._column_widths(width)
        text = " ".join(fit(c.title, w) for c, w in zip(self.columns, widths, strict=False))
        return Strip([Segment(fit(text, width), style)], width)

    def _row_strip(self, position: int, width: int) -> Strip:
        row = self.row_at(position)
        widths = self._column_widths(width)
        base = self.rich_style
        if position == self.cursor:
            base = base + self.get_component_rich_style("virtual-table--cursor")
        elif position % 2:
            base = base + self.get_component_rich_style("virtual-table--odd")
        match_style = self.get_component_rich_style("virtual-table--match", partial=True)
        line = Text(no_wrap=True, overflow="crop", style=base)
        for i, (col, w) in enumerate(zip(self.columns, widths, strict=False)):
            if i:
                line.append(" ")
            try:
                value = _clean(str(col.get(row)))
            except Exception:
                value = "?"
            cell = Text(fit(value, w), style=col.style)
            if col.searchable and self.search:
                cell.highlight_words([self.search], match_style, case_sensitive=False)
            line.append_text(cell)
        segments = list(line.render(self.app.console))
        return Strip(segments).adjust_cell_length(width, base)
