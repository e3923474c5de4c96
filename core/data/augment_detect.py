"""Find the substitutable entities of one pair: every detector in a fixed priority, no overlaps."""

from __future__ import annotations

from core.data.augment_names import find_files, find_globs, find_paths, find_users
from core.data.augment_numbers import find_sizes, find_times
from core.data.augment_spans import Entity

__all__ = ["find_entities"]

_PRIORITY = (find_times, find_sizes, find_users, find_files, find_globs, find_paths)


def find_entities(instruction: str, command: str) -> list[Entity]:
    """The substitutable entities of one pair, non-overlapping, in a fixed order."""
    if not command or not instruction:
        return []
    taken_c: list[tuple[int, int]] = []
    taken_i: list[tuple[int, int]] = []
    out: list[Entity] = []

    def clash(spans: list[tuple[int, int]], taken: list[tuple[int, int]]) -> bool:
        return any(s < te and ts < e for s, e in spans for ts, te in taken)

    for finder in _PRIORITY:
        for ent in finder(instruction, command):
            if clash(ent.cmd_spans, taken_c) or clash(ent.ins_spans, taken_i):
                continue
            taken_c.extend(ent.cmd_spans)
            taken_i.extend(ent.ins_spans)
            out.append(ent)
    return out
