"""Entity-substitution augmentation that keeps every NL → bash pair true.

An entity (absolute path, file name, `*.ext` glob, user name, `-mtime`-style time, `-size`
size) is detected in the COMMAND and substituted only when the instruction states the same
value, so both texts change together: the old value is replaced everywhere it occurs in both,
by the same new value. Numeric flags are matched against the number + unit the instruction
states ("7 days" for `-mtime -7`, "100 KB" for `-size +100k`, "seven days" for `-mtime 7`)
and rewritten in the instruction's own style. An entity is skipped as soon as anything is
unclear (the value also occurs somewhere we cannot rewrite, two time flags form a range, the
unit is missing ...): skipping a substitution is always better than producing a false pair.

`augment` returns only the new rows; the caller keeps the originals. It is deterministic for a
seed (no use of `hash()`; every row has its own `random.Random` seeded from sha256), never
repeats a key already in `existing_keys`, in the originals or earlier in its own output, and
records on every row where it came from (`origin`) and what changed (`substitutions`).

Detection lives in core.data.augment_detect (names: augment_names, numbers: augment_numbers,
pools and deny-lists: augment_pools); this module draws the new values and builds the rows.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from core.data.augment_detect import find_entities
from core.data.augment_spans import Entity
from core.data.records import Example

__all__ = ["AugmentStats", "Entity", "augment", "default_key", "find_entities", "preview_augmentation"]

KeyFn = Callable[[Example], Hashable]


@dataclass
class AugmentStats:
    """What one augmentation run did."""

    originals: int = 0
    eligible: int = 0  # originals with at least one substitutable entity
    produced: int = 0
    duplicates_skipped: int = 0  # draws discarded because their key already existed
    no_entities: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)  # substitutions made, per entity kind
    exhausted: int = 0  # eligible rows that ran out of new variants before the target

    def to_json(self) -> dict:
        """The stats as a JSON-ready dict (for report.json)."""
        return {
            "originals": self.originals,
            "eligible": self.eligible,
            "produced": self.produced,
            "duplicates_skipped": self.duplicates_skipped,
            "no_entities": self.no_entities,
            "by_kind": dict(sorted(self.by_kind.items())),
            "exhausted": self.exhausted,
        }


def default_key(ex: Example) -> tuple[str, str]:
    """Normalised (instruction, command) key used for duplicate detection."""
    return (ex.instruction.casefold().strip(), " ".join(ex.command.split()))


def _rng_for(seed: int, row_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{row_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    pos = 0
    for s, e, new in sorted(edits):
        parts.append(text[pos:s])
        parts.append(new)
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def _variant(ex: Example, ents: list[Entity], rng: random.Random, k: int) -> Example | None:
    """One augmented copy of `ex` with a random non-empty subset of its entities redrawn."""
    chosen = [e for e in ents if rng.random() < 0.7] or [rng.choice(ents)]
    ins, cmd = ex.instruction, ex.command
    used: list[str] = []
    # a new value must not contain an old one (or another new one): after the swap every old
    # value is gone from both texts and no two entities collapse into one
    olds = [e.old for e in ents if e.kind in ("path", "user", "file")]

    def forbidden(value: str) -> bool:
        return (
            value in ins
            or value in cmd
            or any(o in value for o in olds)
            or any(value in u or u in value for u in used)
        )

    c_edits: list[tuple[int, int, str]] = []
    i_edits: list[tuple[int, int, str]] = []
    subs: list[tuple[str, str, str]] = []
    for ent in chosen:
        got = ent.draw(rng, forbidden)
        if got is None:
            continue
        new_c, new_i, new_rec = got
        if ent.kind in ("path", "user", "file", "glob"):
            used.append(new_c)
        c_edits.extend((s, e, new_c) for s, e in ent.cmd_spans)
        i_edits.extend((s, e, new_i) for s, e in ent.ins_spans)
        subs.append((ent.kind, ent.old, new_rec))
    if not subs:
        return None
    return Example(
        instruction=_splice(ins, i_edits),
        command=_splice(cmd, c_edits),
        source=ex.source,
        row_id=f"{ex.row_id}~aug{k}",
        category=ex.category,
        split=ex.split,
        origin=ex.row_id,
        substitutions=subs,
    )


def augment(
    examples: list[Example],
    *,
    multiplier: float | None = 4.0,
    target_size: int | None = None,
    seed: int = 42,
    existing_keys: set[tuple[str, str]] | Iterable[Hashable] | None = None,
    key_fn: KeyFn | None = None,
    max_per_row: int = 24,
    max_tries: int = 6,
) -> tuple[list[Example], AugmentStats]:
    """New, true, de-duplicated variants of `examples`; the originals are NOT in the result.

    Generation stops when originals + new rows reach `target_size` (wins when given) or
    `multiplier` × originals. Variants are spread round-robin over the eligible rows (in a
    seeded order), at most `max_per_row` per original; a draw whose key is in `existing_keys`,
    among the originals or already produced is discarded and redrawn up to `max_tries` times.
    """
    key_fn = key_fn or default_key
    stats = AugmentStats(originals=len(examples))
    if target_size is not None:
        goal = int(target_size)
    elif multiplier is not None:
        goal = round(multiplier * len(examples))
    else:
        goal = len(examples)
    needed = max(0, goal - len(examples))

    seen: set[Hashable] = set(existing_keys or ())
    seen.update(key_fn(ex) for ex in examples)

    pool: list[tuple[Example, list[Entity], random.Random]] = []
    for ex in examples:
        ents = find_entities(ex.instruction, ex.command)
        if ents:
            pool.append((ex, ents, _rng_for(seed, ex.row_id)))
        else:
            stats.no_entities += 1
    stats.eligible = len(pool)
    if not needed or not pool:
        return [], stats

    random.Random(f"order:{seed}").shuffle(pool)
    out: list[Example] = []
    counts = [0] * len(pool)
    alive = list(range(len(pool)))
    while alive and len(out) < needed:
        still: list[int] = []
        for idx in alive:
            if len(out) >= needed:
                still.append(idx)
                break
            ex, ents, rng = pool[idx]
            made = None
            for _ in range(max_tries):
                cand = _variant(ex, ents, rng, counts[idx] + 1)
                if cand is None:
                    continue
                key = key_fn(cand)
                if key in seen:
                    stats.duplicates_skipped += 1
                    continue
                seen.add(key)
                made = cand
                break
            if made is None:
                stats.exhausted += 1
                continue
            counts[idx] += 1
            out.append(made)
            for kind, _, _ in made.substitutions:
                stats.by_kind[kind] += 1
            if counts[idx] < max_per_row:
                still.append(idx)
        alive = still
    stats.produced = len(out)
    return out, stats


def preview_augmentation(
    examples: list[Example], n: int = 5, seed: int = 42
) -> list[tuple[Example, Example]]:
    """Up to `n` (original, augmented) pairs, drawn in a seeded order, for a preview screen."""
    order = list(range(len(examples)))
    random.Random(f"preview:{seed}").shuffle(order)
    pairs: list[tuple[Example, Example]] = []
    for i in order:
        if len(pairs) >= n:
            break
        ex = examples[i]
        ents = find_entities(ex.instruction, ex.command)
        if not ents:
            continue
        rng = _rng_for(seed, ex.row_id)
        for _ in range(3):
            var = _variant(ex, ents, rng, 1)
            if var is not None and default_key(var) != default_key(ex):
                pairs.append((ex, var))
                break
    return pairs
