"""Small formatting helpers shared by the panes (numbers, durations, ages, bytes)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

Clock = Callable[[], float]

STATUS_STYLE = {
    "running": "bold cyan",
    "starting": "bold cyan",
    "finished": "bold green",
    "failed": "bold red",
    "interrupted": "bold yellow",
    "unknown": "dim",
}
STATUS_ICON = {
    "running": "▶",
    "starting": "…",
    "finished": "✓",
    "failed": "✗",
    "interrupted": "■",
    "unknown": "?",
}


def fmt_ago(t: float | None, now: float) -> str:
    """'12s ago', '3m ago', '2h ago', '4d ago' (– when unknown)."""
    if t is None:
        return "–"
    d = max(0.0, now - t)
    if d < 60:
        return f"{int(d)}s ago"
    if d < 3600:
        return f"{int(d // 60)}m ago"
    if d < 86400:
        return f"{int(d // 3600)}h ago"
    return f"{int(d // 86400)}d ago"


def fmt_num(v: float | None, digits: int = 4) -> str:
    """A compact number: 0.000123 → '1.23e-04', 2.4489 → '2.449', 12345 → '12,345'."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, int):
        return f"{v:,}"
    a = abs(v)
    if a == 0:
        return "0"
    if a < 1e-2 or a >= 1e6:
        return f"{v:.2e}"
    if a >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def fmt_rate(v: float | None) -> str:
    """Throughput: 180.2 → '180', 12345 → '12.3k'."""
    if v is None or not math.isfinite(v):
        return "–"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def fmt_time(t: float | None) -> str:
    """Local wall-clock time 'YYYY-mm-dd HH:MM'."""
    if t is None:
        return "–"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def short_path(path: str | None, run_dir: str | None = None) -> str:
    """A run's file relative to its directory ('checkpoints/checkpoint-10', 'adapter').

    Works for paths recorded on another machine or before the folder was moved: the part
    after the run directory's name is kept.
    """
    if not path:
        return "–"
    if run_dir:
        root = str(run_dir).rstrip("/")
        if path.startswith(root + "/"):
            return path[len(root) + 1 :]
        name = "/" + root.rsplit("/", 1)[-1] + "/"
        if name in path:
            return path.split(name, 1)[1]
    return path


def short_model(model: str | None) -> str:
    """'embedded:smollm2-135m-instruct' → 'smollm2-135m-instruct', 'Qwen/Qwen2.5-7B' → 'Qwen2.5-7B'."""
    if not model:
        return "–"
    return model.split(":", 1)[-1].rstrip("/").rsplit("/", 1)[-1]
