"""Scoring generated commands against references: exact, normalized, syntax, danger."""

from __future__ import annotations

from core.data.normalize import normalize_command


def exact_match(pred: str, gold: str) -> bool:
    """Identical after stripping surrounding whitespace."""
    return pred.strip() == gold.strip()


def commands_match(pred: str, gold: str, alternatives: list[str] | None = None) -> bool:
    """Equal after normalizing whitespace and quoting, against the reference or any alternative."""
    p = normalize_command(pred)
    return any(p == normalize_command(g) for g in [gold, *(alternatives or [])])
