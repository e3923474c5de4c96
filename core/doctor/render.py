"""Print a DoctorReport as a table grouped by section, then the summary line."""

from __future__ import annotations

from typing import Any

from core.doctor.report import DoctorReport

GLYPHS = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red"), "skip": ("–", "dim")}


def render_report(console: Any, report: DoctorReport) -> None:
    """A table grouped by section (✓ pass, ! warning, ✗ failure, – skipped), then the summary line."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(width=1, no_wrap=True)
    table.add_column(max_width=30, overflow="fold")
    table.add_column(overflow="fold", ratio=1)
    for i, section in enumerate(report.sections()):
        if i:
            table.add_row("", "", "")
        table.add_row("", f"[bold underline]{escape(section)}[/]", "")
        for c in report.checks:
            if c.section != section:
                continue
            glyph, color = GLYPHS[c.status]
            detail = escape(c.detail)
            if c.status == "skip":
                detail = f"[dim]{detail}[/]"
            if c.fix and c.status in ("warn", "fail"):
                detail += f"\n[{color}]→ {escape(c.fix)}[/]"
            table.add_row(f"[{color}]{glyph}[/]", escape(c.name), detail)
    console.print(table)
    n = report.counts()
    color = "red" if n["fail"] else ("yellow" if n["warn"] else "green")
    console.print()
    console.print(
        f"[bold {color}]{report.summary_line()}[/] [dim]({n['skip']} skipped; {report.mode} check in "
        f"{report.elapsed_s:.1f} s)[/]"
    )
