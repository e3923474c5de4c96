"""What `tuner run` prints: a rich live panel on a terminal, one plain line per event otherwise."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from core.units import fmt_bytes, fmt_seconds


def event_line(rec: dict[str, Any]) -> str | None:
    """One human line for an event (None for events not worth a line)."""
    t = rec.get("type")
    if t == "run_started":
        return (
            f"run {rec['run']}: {rec['model']} on {rec['device']} ({rec['dtype']}), {rec['adapter']}, "
            f"{rec['trainable_params']:,} trainable / {rec['total_params']:,} params, "
            f"{rec['train_rows']:,} train rows, {rec['max_steps']:,} steps"
            + (f", resumed from {rec['resumed_from']}" if rec.get("resumed_from") else "")
        )
    if t == "step":
        mem = rec.get("memory") or {}
        accel = (
            f" accel {fmt_bytes(mem.get('accel_allocated_bytes'))}"
            if mem.get("accel_allocated_bytes") is not None
            else ""
        )
        loss = f"{rec['loss']:.4f}" if rec.get("loss") is not None else "nan"
        return (
            f"step {rec['step']}/{rec['max_steps']} loss {loss} lr {rec['lr']:.2e} "
            f"{rec['tokens_per_s']:.0f} tok/s ETA {fmt_seconds(rec.get('eta_s'))} "
            f"rss {fmt_bytes(mem.get('rss_bytes'))}{accel}"
        )
    if t == "eval":
        em = (
            f" exact match {rec['exact_match']:.1%} ({rec['exact_match_rows']} rows)"
            if rec.get("exact_match") is not None
            else ""
        )
        if rec.get("syntax_valid") is not None:
            em += f", valid bash {rec['syntax_valid']:.1%}"
        if rec.get("exec_accuracy") is not None:
            em += f", exec accuracy {rec['exec_accuracy']:.1%} ({rec['exec_rows']} rows)"
        vl = f"{rec['val_loss']:.4f}" if rec.get("val_loss") is not None else "nan"
        return f"eval @ {rec['step']}: val loss {vl}{em}"
    if t == "sample":
        lines = [f"samples @ {rec['step']}:"]
        for s in rec.get("samples", []):
            flag = f"  [DANGEROUS: {s['dangerous']}]" if s.get("dangerous") else ""
            lines.append(f"  {s['prompt']}\n    → {s['command']}{flag}")
        return "\n".join(lines)
    if t == "checkpoint":
        return f"checkpoint @ {rec['step']}: {rec['path']}" + (" (best)" if rec.get("is_best") else "")
    if t == "warning":
        return f"warning: {rec['message']}"
    if t == "finished":
        best = f", best val loss {rec['best_val_loss']:.4f}" if rec.get("best_val_loss") is not None else ""
        return f"{rec['status']} at step {rec['step']} ({rec['reason']}) in {fmt_seconds(rec.get('elapsed_s'))}{best}; adapter: {rec['adapter_dir']}"
    if t == "failed":
        return f"failed: {rec['message']}" + (f" ({rec['hint']})" if rec.get("hint") else "")
    return None


def before_after(evals: list[dict[str, Any]]) -> str | None:
    """'val loss 2.61 → 0.83, exact match 3.1% → 40.6% (32 val rows)' from the first and last eval."""
    if len(evals) < 2 or evals[0]["step"] == evals[-1]["step"]:
        return None
    a, b = evals[0], evals[-1]
    parts = []
    if a.get("val_loss") is not None and b.get("val_loss") is not None:
        parts.append(f"val loss {a['val_loss']:.3f} → {b['val_loss']:.3f}")
    if a.get("exact_match") is not None and b.get("exact_match") is not None:
        parts.append(
            f"exact match {a['exact_match']:.1%} → {b['exact_match']:.1%} ({b['exact_match_rows']} val rows)"
        )
    if a.get("syntax_valid") is not None and b.get("syntax_valid") is not None:
        parts.append(f"valid bash commands {a['syntax_valid']:.1%} → {b['syntax_valid']:.1%}")
    if a.get("exec_accuracy") is not None and b.get("exec_accuracy") is not None:
        parts.append(
            f"execution accuracy {a['exec_accuracy']:.1%} → {b['exec_accuracy']:.1%} "
            f"({b['exec_rows']} exec-set rows, run in the sandbox)"
        )
    return f"step {a['step']} → {b['step']}: " + ", ".join(parts) if parts else None


class RunDisplay:
    """Feeds events to the console: a live status line on a TTY above the scrolling event log."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.live = None
        self.last_step: dict[str, Any] | None = None
        self.evals: list[dict[str, Any]] = []
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(self._status(), console=self.console, refresh_per_second=4, transient=True)
            self.live.start()

    def _status(self):
        from rich.text import Text

        if not self.last_step:
            return Text("loading model and data…", style="dim")
        line = event_line(self.last_step) or ""
        done = self.last_step["step"] / max(1, self.last_step["max_steps"])
        bar = "█" * int(done * 30) + "░" * (30 - int(done * 30))
        return Text(f"{bar} {done:5.1%}  {line}", style="bold")

    def __call__(self, rec: dict[str, Any]) -> None:
        if rec.get("type") == "step":
            self.last_step = rec
        if rec.get("type") == "failed":
            return  # the CLI prints the failure to stderr
        if rec.get("type") == "eval":
            self.evals.append(rec)
        line = event_line(rec)
        if line and (rec.get("type") != "step" or self.live is None):
            style = {"failed": "red", "warning": "yellow", "finished": "green", "eval": "cyan"}.get(
                rec["type"], ""
            )
            self.console.print(f"[{style}]{escape(line)}[/]" if style else escape(line))
        elif line:
            self.console.print(f"[dim]{escape(line)}[/]")
        if self.live is not None:
            self.live.update(self._status())
        if rec.get("type") == "finished":
            summary = before_after(self.evals)
            if summary:
                self.console.print(f"[bold]{escape(summary)}[/]")

    def close(self) -> None:
        """Stop the live panel."""
        if self.live is not None:
            self.live.stop()
