"""The Playground's "run both in the sandbox": two commands on fresh copies of one fixture, never on the host.

Textual-free: the pane calls `run_commands` from a worker thread and shows `describe(...)` of each.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.exec_eval.equivalence import compare, tree_difference
from core.exec_eval.scorer import ExecScorer
from core.sandbox.bwrap import sandbox_problem
from core.sandbox.run import Entry, Outcome


@dataclass(frozen=True)
class SandboxRun:
    """One command's run: its outcome and what it changed in the fixture."""

    command: str
    outcome: Outcome
    added: list[str]
    removed: list[str]
    changed: list[str]


def _changes(tree: dict[str, Entry] | None, base: dict[str, Entry]) -> tuple[list[str], list[str], list[str]]:
    tree = tree or {}
    added = sorted(set(tree) - set(base))
    removed = sorted(set(base) - set(tree))
    changed = sorted(p for p in set(tree) & set(base) if tree_difference({p: tree[p]}, {p: base[p]}, {}))
    return added, removed, changed


def run_commands(commands: list[str], fixture: str) -> tuple[list[SandboxRun], bool | None]:
    """Run each command on a fresh copy of `fixture`; also whether the first two did the same thing."""
    with ExecScorer(workers=1) as scorer:
        base = scorer.run("true", fixture).tree or {}
        runs = []
        for cmd in commands:
            out = scorer.run(cmd, fixture)
            runs.append(SandboxRun(cmd, out, *_changes(out.tree, base)))
        fx = scorer.fixture(fixture)
    same = None
    if len(runs) == 2 and runs[0].outcome.ok and runs[1].outcome.ok:
        same = compare(runs[1].outcome, runs[0].outcome, ordered=True, fixture_mtimes=fx.mtimes).right
    return runs, same


def problem() -> str | None:
    """Why the sandbox cannot run here, or None."""
    return sandbox_problem()


def describe(run: SandboxRun, max_lines: int = 12) -> list[tuple[str, str]]:
    """(text, style) lines: exit status or the limit hit, the output's head, the files it changed."""
    o = run.outcome
    lines: list[tuple[str, str]] = []
    if o.output_flood:
        lines.append(("✗ stopped: output over the limit", "yellow"))
    elif o.timed_out:
        lines.append(("✗ stopped at the time limit", "yellow"))
    elif o.exit_code == 0:
        lines.append((f"exit 0 in {o.seconds:.2f} s", "green"))
    else:
        err = next((ln for ln in o.stderr.splitlines() if ln.strip()), "")
        lines.append((f"exit {o.exit_code}" + (f": {err[:100]}" if err else ""), "yellow"))
    out = o.stdout.splitlines()
    for ln in out[:max_lines]:
        lines.append((ln[:200], ""))
    if len(out) > max_lines:
        lines.append((f"… {len(out) - max_lines} more lines", "dim"))
    for label, paths in (("+", run.added), ("-", run.removed), ("~", run.changed)):
        if paths:
            shown = ", ".join(paths[:5]) + (f" … (+{len(paths) - 5})" if len(paths) > 5 else "")
            lines.append((f"{label} {shown}", "cyan"))
    return lines
