"""Widgets of the TUI that know nothing of its panes: charts, tables, bars, dialogs."""

from __future__ import annotations

from typing import Any


def update_if_changed(static: Any, content: Any) -> None:
    """Static.update, skipped when the content is what is shown already (no repaint, no re-layout)."""
    if getattr(static, "_tuner_shown", None) == content:
        return
    static._tuner_shown = content
    static.update(content)
