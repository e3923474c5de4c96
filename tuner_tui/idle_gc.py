"""Full garbage collections only while the user is idle.

A full (generation 2) collection walks every live object: with a 100K-row table loaded it took
15–90 ms here, and CPython started one every few seconds while the screen was being redrawn, so
it landed inside a key press about one time in ten — the slow tail of the pane-switch latency.
The app turns automatic full collections off and runs them from a timer, once no key or click
has come for `idle_s` and as many younger collections have passed as would have triggered one.
Young-generation collections (~2 ms) stay automatic.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

NEVER = 1 << 30  # a generation-2 threshold CPython never reaches


class IdleCollector:
    """Owns generation 2 of the garbage collector while started; `tick` from a timer, `touched` on input."""

    def __init__(self, idle_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.clock = clock
        self.last_input = clock()
        self.collections = 0
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        """Stop automatic full collections (the young generations keep their thresholds)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            gen0, gen1, _ = self._saved
            gc.set_threshold(gen0, gen1, NEVER)

    def stop(self) -> None:
        """Give generation 2 back to CPython, as it was."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def touched(self) -> None:
        """A key or a click came in."""
        self.last_input = self.clock()

    def due(self) -> bool:
        """True when CPython would have run a full collection by now, and the user is idle."""
        if self._saved is None:
            return False
        return gc.get_count()[2] >= self._saved[2] and self.clock() - self.last_input >= self.idle_s

    def tick(self) -> bool:
        """Run a full collection if one is due; True if it ran."""
        if not self.due():
            return False
        gc.collect()
        self.collections += 1
        return True
