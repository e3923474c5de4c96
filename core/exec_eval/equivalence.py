"""When two commands did the same thing: the equivalence rule of execution-checked evaluation.

A prediction is right when, run on the same fixture as the reference, it exits 0 within its limits,
prints the same output and leaves the same file tree. Output is compared line by line after
normalizing whitespace (runs of spaces/tabs → one space, line ends and trailing blank lines
dropped); unless the reference orders its output on purpose (sort, tac, nl, ls -t/-S/-r…), the
lines may come in any order. The tree compares paths, types, modes, file contents and symlink
targets, plus whether a fixture file's mtime changed (touch). docs/exec-eval.md lists the blind spots.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from core.sandbox.run import Entry, Outcome

# Stages whose whole point is an order: with one of these in the reference, order must match.
_ORDERING = re.compile(r"(?:^|[|;&(`]|\$\()\s*(?:sort|tac|nl|shuf|rev)\b|\bls\s+(?:-\w*[tSrUvX]\w*\s*)+")


def order_matters(reference: str) -> bool:
    """True when the reference command orders its output on purpose (sort, tac, nl, ls -t/-S/-r…)."""
    return bool(_ORDERING.search(reference))


def normalize_lines(text: str) -> list[str]:
    """Output lines with whitespace normalized and trailing blank lines dropped."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def same_output(prediction: str, reference: str, *, ordered: bool) -> bool:
    """The rule's stdout comparison: equal normalized lines, in order when `ordered`, else as multisets."""
    a, b = normalize_lines(prediction), normalize_lines(reference)
    return a == b if ordered else Counter(a) == Counter(b)


def _describe(entry: Entry) -> tuple[object, ...]:
    if entry.kind == "f":
        # Unreadable files (mode 000): their size stands in for the contents nobody could read.
        return (entry.kind, entry.mode, entry.sha256 or f"size {entry.size}")
    if entry.kind == "l":
        return (entry.kind, entry.target)
    return (entry.kind, entry.mode)


def tree_difference(
    prediction: Mapping[str, Entry], reference: Mapping[str, Entry], fixture_mtimes: Mapping[str, int]
) -> str | None:
    """None when both trees are the same under the rule, else the first difference in a few words."""
    for path in sorted(set(prediction) | set(reference)):
        p, r = prediction.get(path), reference.get(path)
        if p is None:
            return f"{path}: missing"
        if r is None:
            return f"{path}: not expected"
        if p.kind != r.kind:
            return f"{path}: {p.kind} instead of {r.kind}"
        if _describe(p) != _describe(r):
            if p.kind == "l":
                return f"{path}: points to {p.target}"
            if p.mode != r.mode:
                return f"{path}: mode {p.mode:o} instead of {r.mode:o}"
            return f"{path}: different contents"
        fixed = fixture_mtimes.get(path)
        # (not folders: a folder's mtime moves with any file made and removed in it)
        if fixed is not None and p.kind != "d" and (abs(p.mtime - fixed) > 1) != (abs(r.mtime - fixed) > 1):
            return f"{path}: {'touched' if abs(p.mtime - fixed) > 1 else 'not touched'}"
    return None


@dataclass(frozen=True)
class Verdict:
    """The rule applied to one prediction against one reference."""

    right: bool
    stdout: str  # "same", "differs", "–" (not compared)
    tree: str  # "same", "differs: <first difference>", "–"
    reason: str  # "right", or why not, in a few words


def compare(
    prediction: Outcome, reference: Outcome, *, ordered: bool, fixture_mtimes: Mapping[str, int]
) -> Verdict:
    """Apply the rule: exit 0 within limits, same output, same tree."""
    if prediction.output_flood:
        return Verdict(False, "–", "–", "output flood (over the output limit)")
    if prediction.timed_out:
        return Verdict(False, "–", "–", "timed out")
    if prediction.tree is None or prediction.exit_code is None:
        return Verdict(False, "–", "–", "killed before it finished")
    stdout_ok = same_output(prediction.stdout, reference.stdout, ordered=ordered)
    diff = tree_difference(prediction.tree, reference.tree or {}, fixture_mtimes)
    stdout = "same" if stdout_ok else "differs"
    tree = "same" if diff is None else f"differs: {diff}"
    if prediction.exit_code != 0:
        return Verdict(False, stdout, tree, f"exit status {prediction.exit_code}")
    if not stdout_ok:
        return Verdict(False, stdout, tree, "different output")
    if diff is not None:
        return Verdict(False, stdout, tree, f"different files ({diff})")
    return Verdict(True, stdout, tree, "right")
