"""The key bar: the focused widget's bindings as one line of text, clickable.

Textual's Footer recomposes whenever the focus moves — a widget per key, each one restyled —
which measured ~30 ms of every pane switch on a 2-core machine, half the switch. This bar
is one Static: a new line of content when the bindings change, nothing when they do not.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static


def bindings_line(
    active_bindings: dict[str, Any],
    key_display: Any,
    key_style: str = "bold",
    description_style: str = "",
    palette_key: str | None = None,
) -> tuple[Content, list[tuple[int, int, str]]]:
    """One line, `key description` per shown action (first binding wins), and each enabled key's cells.

    `palette_key`: the command palette's binding, hidden like the others' but listed last, as the Footer does.
    """
    seen: set[str] = set()
    parts: list[Content] = []
    cells: list[tuple[int, int, str]] = []  # (start, end, key) for clicks
    x = 0
    for key_name, (_node, binding, enabled, _tooltip) in active_bindings.items():
        if not (binding.show or key_name == palette_key) or binding.action in seen:
            continue
        seen.add(binding.action)
        key = Content(f" {key_display(binding)} ").stylize(key_style)
        desc = Content(f"{binding.description} ").stylize(description_style)
        item = Content.assemble(key, desc)
        if enabled:
            cells.append((x, x + item.cell_length, binding.key))
        else:
            item = item.stylize("dim")
        parts.append(item)
        x += item.cell_length
    return Content("").join(parts), cells


class KeyBar(Static):
    """Bindings of the focused widget, docked at the bottom (a light Footer)."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._line: Content | None = None
        self._cells: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is not self.screen:
            return
        colours = self.app.theme_variables  # the Footer's own colours, in every theme (16 colours too)
        line, self._cells = bindings_line(
            screen.active_bindings,
            self.app.get_key_display,
            f"bold {colours.get('footer-key-foreground', '')}".strip(),
            colours.get("footer-description-foreground", ""),
            self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None,
        )
        if line != self._line:  # the same keys after a focus move: no repaint at all
            self._line = line
            self.update(line, layout=False)  # one docked line: its size never changes, skip the re-layout

    def on_click(self, event: Any) -> None:
        """A click on a key runs it, as the Footer does."""
        for start, end, key in self._cells:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
