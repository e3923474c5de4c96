"""The five panes. Panes that are not on screen at start are mounted lazily (after the first
paint), so calls from the app into a pane that is not mounted yet are queued until it is."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def when_mounted(method: F) -> F:
    """Run the method now if the pane is mounted, else right after it mounts."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "is_mounted", False):
            return method(self, *args, **kwargs)
        queue = self.__dict__.setdefault("_deferred_calls", [])
        queue.append((method, args, kwargs))
        return None

    return wrapper  # type: ignore[return-value]


class Pane:
    """Mixin for panes: flushes calls queued by @when_mounted once the pane is mounted."""

    def on_mount(self) -> None:
        queue = self.__dict__.pop("_deferred_calls", [])
        for method, args, kwargs in queue:
            method(self, *args, **kwargs)


def update_if_changed(static: Any, content: Any) -> None:
    """Static.update, skipped when the content is what is shown already (no repaint, no re-layout)."""
    if getattr(static, "_tuner_shown", None) == content:
        return
    static._tuner_shown = content
    static.update(content)
