"""Does an estimate fit? One rule for the CLI and the TUI: ≤ 85% of the memory fits, ≤ 100% is tight, more does not fit."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from core.estimate.machine import detected_kind, detected_memory
from core.units import GiB

if TYPE_CHECKING:  # pragma: no cover
    from core.estimate.memory import Estimate

FITS_SHARE = 0.85  # above this share of the memory: fragmentation and spikes make an OOM likely


def fit_verdict(total: int, available: int) -> tuple[str, str]:
    """(style, words) comparing an estimate with a device's memory."""
    share = total / available if available else math.inf
    if share <= FITS_SHARE:
        return "green", f"fits ({share:.0%} of {available / GiB:.1f} GiB)"
    if share <= 1.0:
        return "yellow", f"tight ({share:.0%} of {available / GiB:.1f} GiB): expect OOM risk"
    return "red", f"does not fit ({share:.0%} of {available / GiB:.1f} GiB)"


def fit_here(est: Estimate) -> tuple[str, str] | None:
    """fit_verdict() against this machine's memory, or None when the estimate is for another device kind."""
    kind = detected_kind()
    if kind != est.device and not (est.device == "cpu" and kind == "mps"):
        return None
    return fit_verdict(est.total, detected_memory()[1])
