"""Print a preset's memory estimate: the component table, the total, the checkpointing alternative, the fit here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.estimate.fit import fit_here
from core.estimate.machine import detected_memory
from core.estimate.memory import estimate_or_reason
from core.units import GiB

if TYPE_CHECKING:  # pragma: no cover
    from core.config.schema import Preset


def render_estimate(console: Any, preset: Preset) -> None:
    """Print the estimate as a table (component, GiB, note), the total and whether it fits here."""
    from rich.markup import escape
    from rich.table import Table

    est = estimate_or_reason(preset)
    console.print()
    if isinstance(est, str):
        console.print(f"[bold]memory estimate[/]: [yellow]{escape(est)}[/]")
        return
    console.print(
        f"[bold]memory estimate[/] — {escape(est.model)} ({escape(est.arch.describe())}), "
        f"{est.adapter} on {est.device}, {est.rows} × {est.seq} tokens per micro batch"
    )
    table = Table("component", "GiB", "note", box=None, pad_edge=False)
    for c in est.components:
        table.add_row(escape(c.name), f"{c.bytes / GiB:.2f}", escape(c.note))
    table.add_row("[bold]total[/]", f"[bold]{est.total / GiB:.2f}[/]", "")
    console.print(table)
    other = est.total_with_checkpointing(not est.gradient_checkpointing)
    if est.gradient_checkpointing:
        console.print(f"gradient checkpointing is on; without it: {other / GiB:.2f} GiB")
    else:
        console.print(
            f"gradient checkpointing is off; with it (train.gradient_checkpointing = true): {other / GiB:.2f} GiB"
        )
    name, mem = detected_memory()
    verdict = fit_here(est)
    if verdict is not None:
        style, words = verdict
        console.print(f"this machine: {escape(name)} — [{style}]{words}[/]")
    else:
        console.print(
            f"this machine: {escape(name)}, {mem / GiB:.1f} GiB — the estimate is for {est.device}, "
            "so no fit check here"
        )
    for w in est.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    for a in est.assumptions:
        console.print(f"[dim]· {escape(a)}[/]")
