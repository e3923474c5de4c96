"""Detect numbers to substitute in one NL → bash pair: `-mtime`/`-mmin` times and `-size` sizes.

The instruction must state the same number with its unit ("7 days" for `-mtime -7`, "100 KB" for
`-size +100k`); a new value is written back in the instruction's own style (digits or words,
unit spelling, singular/plural). Ranges (two flags) and unclear mentions are left alone.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from core.data.augment_pools import (
    DAY_POOL,
    MIN_POOL,
    NUM_WORDS,
    SIZE_POOL,
    SIZE_STYLES,
    SIZE_UNIT,
    WORD_NUMS,
)
from core.data.augment_spans import Entity

__all__ = ["find_sizes", "find_times"]

_TIME_FLAG = re.compile(r"(?<![\w-])-(?P<flag>[amc](?:time|min))\s+(?P<sign>[+-]?)(?P<num>\d+)(?![\w.])")
_SIZE_FLAG = re.compile(r"(?<![\w-])-size\s+(?P<sign>[+-]?)(?P<num>\d+)(?P<unit>[kMGc])(?![\w.])")
_NUM_WORD_RE = "|".join(sorted((re.escape(w) for w in WORD_NUMS), key=len, reverse=True))
_DAY_MENTION = re.compile(
    rf"(?<![\w.*/-])(?P<num>\d+|{_NUM_WORD_RE})(?P<sep>[\s-]*)(?P<unit>days?)\b", re.IGNORECASE
)
_MIN_MENTION = re.compile(
    rf"(?<![\w.*/-])(?P<num>\d+|{_NUM_WORD_RE})(?P<sep>[\s-]*)(?P<unit>minutes?|mins?)\b",
    re.IGNORECASE,
)
_SIZE_UNIT_RE = "|".join(sorted((re.escape(u) for u in SIZE_UNIT), key=len, reverse=True))
_SIZE_MENTION = re.compile(rf"(?<![\w.])(?P<num>\d+)(?P<sep>\s*)(?P<unit>{_SIZE_UNIT_RE})(?![\w])")


def _num_value(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return WORD_NUMS.get(text.lower())


def _render_num(n: int, like: str) -> str | None:
    if like.isdigit():
        return str(n)
    word = NUM_WORDS.get(n)
    if word is None:
        return None
    if like.isupper():
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word


def _plural(unit: str, n: int) -> str:
    """Keep the unit word's spelling, fix singular/plural for the new number."""
    base = unit[:-1] if unit.lower().endswith("s") else unit
    if base.lower() in ("minute", "min", "day"):
        return base if n == 1 else base + ("S" if unit.isupper() else "s")
    return unit


def find_times(ins: str, cmd: str) -> list[Entity]:
    """A single `-mtime`/`-mmin`-style flag whose number and unit the instruction states once."""
    flags = list(_TIME_FLAG.finditer(cmd))
    if len(flags) != 1:
        return []  # none, or a range whose bounds must stay ordered
    m = flags[0]
    flag, sign, num = m.group("flag"), m.group("sign"), int(m.group("num"))
    if num == 0:
        return []
    mention = _DAY_MENTION if flag.endswith("time") else _MIN_MENTION
    hits = [h for h in mention.finditer(ins) if _num_value(h.group("num")) == num]
    if len(hits) != 1 or any(True for _ in mention.finditer(cmd)):
        return []
    h = hits[0]
    like, sep, unit = h.group("num"), h.group("sep"), h.group("unit")
    pool = DAY_POOL if flag.endswith("time") else MIN_POOL
    old = f"-{flag} {sign}{num}"

    choices = [n for n in pool if n != num and _render_num(n, like) is not None]

    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        if not choices:
            return None
        n = rng.choice(choices)
        return str(n), f"{_render_num(n, like)}{sep}{_plural(unit, n)}", f"-{flag} {sign}{n}"

    return [Entity("time", old, [m.span("num")], [h.span()], draw)]


def find_sizes(ins: str, cmd: str) -> list[Entity]:
    """A single `-size` flag whose number and unit the instruction states once (in any spelling)."""
    flags = list(_SIZE_FLAG.finditer(cmd))
    if len(flags) != 1:
        return []
    m = flags[0]
    sign, num, unit = m.group("sign"), int(m.group("num")), m.group("unit")
    hits = []
    for h in _SIZE_MENTION.finditer(ins):
        style, fam = SIZE_UNIT[h.group("unit")]
        if int(h.group("num")) == num and fam == unit:
            hits.append((h, style))
    elsewhere = (x for x in _SIZE_MENTION.finditer(cmd) if not m.start() <= x.start() < m.end())
    if len(hits) != 1 or any(int(x.group("num")) == num for x in elsewhere):
        return []
    h, style = hits[0]
    sep, word_unit = h.group("sep"), h.group("unit")
    forms = SIZE_STYLES[style]
    old = f"-size {sign}{num}{unit}"

    choices = [(n, f) for f in forms if f in SIZE_POOL for n in SIZE_POOL[f] if (n, f) != (num, unit)]

    def draw(rng: random.Random, forbidden: Callable[[str], bool]):
        if not choices:
            return None
        n, f = rng.choice(choices)
        form = forms[f]
        if style in ("word", "Word", "bytes"):
            if word_unit in ("megs", "meg", "gigs", "gig"):
                form = {"M": "meg", "G": "gig"}.get(f, form)
            if n != 1 and (word_unit.endswith("s") or style != "bytes"):
                form += "s"
        return f"{n}{f}", f"{n}{sep}{form}", f"-size {sign}{n}{f}"

    return [Entity("size", old, [(m.start("num"), m.end("unit"))], [h.span()], draw)]
