"""The pane bar: `1 Data  2 Presets  …` on one line, the shown pane highlighted, clickable.

Textual's TabbedContent wraps each pane in two more containers and draws the tabs as six
widgets (five tabs and a sliding underline), all restyled and re-rendered on every switch;
on a 2-core machine busy training, that was a third of a pane switch. This bar is one widget
that renders one line, and the app shows a pane by toggling `display` on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class PaneBar(Widget, can_focus=True):
    """One line of pane tabs; with the focus, ←/→ show the other panes and ↓/Enter goes into one."""

    DEFAULT_CSS = """
    PaneBar {
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $footer-background;  /* a bar at the top, as the key bar is at the bottom */
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """
    BINDINGS = [
        Binding("left", "move(-1)", "Prev", key_display="←"),
        Binding("right", "move(1)", "Next", key_display="→"),
        Binding("down,enter", "enter", "Go to pane"),
    ]

    active: reactive[str] = reactive("")

    class Selected(Message):
        """A tab was clicked (focus: into the pane), or chosen with ←/→ (the bar keeps the focus)."""

        def __init__(self, pane: str, focus: bool) -> None:
            super().__init__()
            self.pane = pane
            self.focus = focus

    def __init__(self, tabs: Sequence[tuple[str, str]], active: str, **kwargs: Any) -> None:
        """tabs: (pane id, label) in order."""
        super().__init__(**kwargs)
        self.labels: dict[str, str] = dict(tabs)
        self.set_reactive(PaneBar.active, active)
        self._cells: list[tuple[int, int, str]] = []  # (start, end, pane) for clicks

    def set_label(self, pane: str, label: str) -> None:
        """Change one tab's text (e.g. a running count); repaints only when it changes."""
        if self.labels.get(pane) != label:
            self.labels[pane] = label
            self.refresh()

    def label(self, pane: str) -> str:
        return self.labels[pane]

    def render(self) -> Content:
        accent = self.app.theme_variables.get("accent", "")  # in every theme, the 16-colour one included
        # The shown pane: underlined in the accent colour; reversed while the bar has the focus.
        on = f"bold {'reverse' if self.has_focus else 'underline'} {accent}".strip()
        parts: list[Content] = []
        self._cells = []
        x = 0
        for pane, text in self.labels.items():
            item = Content(f" {text} ").stylize(on if pane == self.active else "dim")
            self._cells.append((x, x + item.cell_length, pane))
            parts.append(item)
            x += item.cell_length + 1  # the space between tabs
        return Content(" ").join(parts)

    def watch_active(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: Any) -> None:
        x = event.x - self.gutter.left
        for start, end, pane in self._cells:
            if start <= x < end:
                self.post_message(self.Selected(pane, focus=True))
                return

    def action_move(self, step: int) -> None:
        panes = list(self.labels)
        index = panes.index(self.active) if self.active in panes else 0
        self.post_message(self.Selected(panes[(index + step) % len(panes)], focus=False))

    def action_enter(self) -> None:
        self.post_message(self.Selected(self.active, focus=True))
