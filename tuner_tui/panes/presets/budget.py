"""The Presets pane's memory budget: core.estimate's estimate as bars, judged by core's fit rule.

`memory_budget` runs in a worker (it may read a model's config); `render_budget` draws the
components against the device's memory and says "fits", "tight" or "does not fit" with
`core.estimate.fit_verdict` — the words and colours `tuner estimate` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.text import Text

from core.units import fmt_bytes

BAR_WIDTH = 24
VERDICT_ICON = {"green": "✓", "yellow": "!", "red": "✗"}


@dataclass
class MemoryBudget:
    """core.estimate's answer plus the device it is compared with, or why there is none."""

    estimate: Any = None  # core.estimate.Estimate
    device: tuple[str, int] | None = None  # (name, bytes); None: the estimate is for another kind
    reason: str | None = None


def memory_budget(
    preset: Any, device: str | None = None, memory: tuple[str, int] | None = None
) -> MemoryBudget:
    """A preset's estimate, compared with this machine's memory when it is the preset's device kind.

    `device` pins the device kind estimated for and `memory` the (name, bytes) compared with
    (tests and screenshots); by default both are detected.
    """
    from core.estimate import detected_memory, estimate_or_reason, fit_here

    try:
        est = estimate_or_reason(preset, device)
    except Exception as e:  # an estimate must never break the presets pane
        return MemoryBudget(reason=f"no estimate: {type(e).__name__}: {e}")
    if isinstance(est, str):
        return MemoryBudget(reason=est)
    if memory is not None:
        return MemoryBudget(estimate=est, device=memory)
    try:
        # A 7B CUDA estimate says nothing about this laptop's RAM: fit_here knows which kinds compare.
        dev = detected_memory() if fit_here(est) is not None else None
    except Exception:
        dev = None
    return MemoryBudget(estimate=est, device=dev)


def render_budget(budget: MemoryBudget) -> Any:
    """Components as bars against the device's memory, the total and the fit verdict."""
    from core.estimate import fit_verdict

    est = budget.estimate
    if est is None:
        return Text(budget.reason or "no estimate", style="dim")
    total = est.total
    dev_name, dev_bytes = budget.device if budget.device else ("device", None)
    scale = max(total, dev_bytes or 0) or 1
    lines: list[Text] = []
    if dev_bytes:
        lines.append(Text.assemble(("device ", "dim"), (f"{dev_name}: {fmt_bytes(dev_bytes)}", "bold")))
    for c in est.components:
        bar = "█" * max(1 if c.bytes else 0, round(c.bytes / scale * BAR_WIDTH))
        lines.append(
            Text.assemble(
                (f"{c.name[:16]:<16} ", ""),
                (bar.ljust(BAR_WIDTH), "cyan"),
                f" {fmt_bytes(c.bytes):>10}",
                (f"  {c.note}" if c.note else "", "dim"),
            )
        )
    style, words = fit_verdict(total, dev_bytes) if dev_bytes else ("green", "")
    bar = "█" * max(1, round(total / scale * BAR_WIDTH))
    t = Text.assemble(
        (f"{'total':<16} ", "bold"),
        (bar.ljust(BAR_WIDTH), style),
        (f" {fmt_bytes(total):>10}", "bold"),
    )
    if words:
        t.append(f"  {VERDICT_ICON[style]} {words}", style=f"bold {style}")
    lines.append(t)
    if est.assumptions:
        lines.append(Text(f"assumes: {'; '.join(est.assumptions)}", style="dim italic"))
    return Group(*lines)
