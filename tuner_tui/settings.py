"""The app-wide settings panes read: where runs live, the clock, how often to poll, the memory to plan for.

The app builds one `Settings` and hands it to each pane's constructor, so a pane never reaches
into the app for them (and tests pin the clock and the machine's memory here).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Shared, read-only settings of one TUI session."""

    runs_root: Path
    clock: Callable[[], float] = time.time  # wall clock; tests freeze it for stable "x ago" text
    poll_interval: float = 0.5  # seconds between polls of the monitored run
    # The memory budget: the device kind to estimate for and its (name, bytes); None detects them.
    estimate_device: str | None = None
    device_memory: tuple[str, int] | None = None
