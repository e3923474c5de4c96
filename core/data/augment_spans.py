"""Where a value sits in a text: `Entity` (one substitutable value and its spans) and the
boundary checks that keep a match from being part of a longer word, path or file name.

Plain `str.find`, no per-value regex: compiling one pattern per value thrashes re's cache.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Entity", "file_end", "glob_end", "name_end", "occurrences", "path_end"]


@dataclass(slots=True)
class Entity:
    """One substitutable value of one pair: where it sits in both texts and how to redraw it.

    `cmd_spans`/`ins_spans` are every occurrence of the value in the command/instruction; all of
    them are replaced together (the instruction's text may differ: "100 KB" for `+100k`).
    """

    kind: str
    old: str  # command-side text, as recorded in `substitutions`
    cmd_spans: list[tuple[int, int]]
    ins_spans: list[tuple[int, int]]
    # draw(rng, forbidden) -> (new command text, new instruction text, recorded new) or None
    draw: Callable[[random.Random, Callable[[str], bool]], tuple[str, str, str] | None]


def _is_w(ch: str) -> bool:
    """`ch` is a regex word character (\\w); '' (text edge) is not."""
    return bool(ch) and (ch.isalnum() or ch == "_")


def occurrences(text: str, value: str, left_bad: str = "", right_ok=None) -> list[tuple[int, int]]:
    """Spans of `value` in `text` whose left neighbour is no word char and not in `left_bad`,
    and whose right side passes `right_ok(text, end)` (default: no word char and no '-').
    """
    right_ok = right_ok or name_end
    out: list[tuple[int, int]] = []
    n = len(value)
    i = text.find(value)
    while i >= 0:
        prev = text[i - 1] if i else ""
        if not _is_w(prev) and (not prev or prev not in left_bad) and right_ok(text, i + n):
            out.append((i, i + n))
        i = text.find(value, i + 1)
    return out


def name_end(text: str, end: int) -> bool:
    """After a name: not glued to more word characters nor to '-'."""
    nxt = text[end : end + 1]
    return not _is_w(nxt) and nxt != "-"


def file_end(text: str, end: int) -> bool:
    """After a name: not glued to more name characters, nor to '.ext' (a trailing '.' is fine)."""
    nxt = text[end : end + 1]
    if _is_w(nxt) or nxt == "-":
        return False
    return not (nxt == "." and _is_w(text[end + 1 : end + 2]))


def path_end(text: str, end: int) -> bool:
    """After a path: not glued to more path characters, nor to '.ext' (a trailing '.' is fine)."""
    nxt = text[end : end + 1]
    if _is_w(nxt) or (nxt and nxt in "+@%,-"):
        return False
    return not (nxt == "." and _is_w(text[end + 1 : end + 2]))


def glob_end(text: str, end: int) -> bool:
    """After a `*.ext` glob: not glued to more word characters, '.' or '-'."""
    nxt = text[end : end + 1]
    return not _is_w(nxt) and nxt not in (".", "-") if nxt else True
