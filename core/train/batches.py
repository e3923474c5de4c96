"""Tokenized examples → micro-batches bounded by rows AND tokens, and the collators that pad them.

With a 49K vocabulary the logits (batch × length × vocab floats) dominate memory, so a batch is
bounded by its padded token count, not only its row count. Batches are built once, up front,
and the Trainer's sampler shuffles whole batches (batch size 1 at the DataLoader): the order is
seeded, so a resumed run skips to exactly the same data position.

Strategies (train.batching):
- length_grouped: rows sorted by length inside seeded mega-chunks, padded to the batch maximum.
- padding_free: rows concatenated into one sequence with position_ids restarting per row; no pad.
- packing: same as padding_free for instruction data (each row keeps its own attention span).
- pad_to_max: fixed rows, padded to max_seq_len (static shapes for XLA).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.data.formatting import IGNORE_INDEX, Encoded, encode_example

MEGA_CHUNK = 64  # micro-batches per sort window: enough grouping, still well shuffled


@dataclass
class TokenizedSplit:
    """Encoded rows of one split, plus how many were dropped for length."""

    rows: list[Encoded]
    dropped_too_long: int = 0
    dropped_ids: list[str] = field(default_factory=list)


def tokenize_rows(
    tokenizer: Any, rows: Sequence[Any], style: str, system_prompt: str | None, max_len: int
) -> TokenizedSplit:
    """Encode rows; those longer than max_len are dropped and counted, never truncated mid-command."""
    out = TokenizedSplit([])
    for ex in rows:
        enc = encode_example(tokenizer, ex.instruction, ex.command, style, system_prompt)  # type: ignore[arg-type]
        if len(enc.input_ids) > max_len:
            out.dropped_too_long += 1
            out.dropped_ids.append(ex.row_id)
            continue
        out.rows.append(enc)
    return out


def make_batches(
    lengths: Sequence[int],
    *,
    strategy: str,
    micro_batch_size: int,
    max_tokens: int | None,
    max_len: int,
    seed: int,
    shuffle: bool = True,
) -> list[list[int]]:
    """Group row indices into micro-batches according to the strategy."""
    order = list(range(len(lengths)))
    if shuffle:
        random.Random(seed).shuffle(order)
    budget = max_tokens or micro_batch_size * max_len
    if strategy == "pad_to_max":
        rows = max(1, min(micro_batch_size, budget // max_len))
        return [order[i : i + rows] for i in range(0, len(order), rows)]
    if strategy in ("padding_free", "packing"):
        return _cut(order, lengths, micro_batch_size, budget, padded=False)
    # length_grouped: sort inside windows so neighbours have similar lengths
    window = micro_batch_size * MEGA_CHUNK
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += _cut(chunk, lengths, micro_batch_size, budget, padded=True)
    return batches


def _cut(
    order: list[int], lengths: Sequence[int], rows: int, budget: int, *, padded: bool
) -> list[list[int]]:
    batches: list[list[int]] = []
    cur: list[int] = []
    longest = total = 0
    for i in order:
        n = lengths[i]
        new_longest, new_total = max(longest, n), total + n
        cost = new_longest * (len(cur) + 1) if padded else new_total
        if cur and (len(cur) >= rows or cost > budget):
            batches.append(cur)
            cur, new_longest, new_total = [], n, n
        cur.append(i)
        longest, total = new_longest, new_total
    if cur:
        batches.append(cur)
    return batches


class BatchDataset:
    """A torch-style dataset whose items are whole micro-batches (lists of Encoded)."""

    def __init__(self, rows: list[Encoded], batches: list[list[int]]) -> None:
        self.rows = rows
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> list[Encoded]:
        return [self.rows[j] for j in self.batches[i]]


# Plain ints riding along in each batch: the collator may run in a DataLoader worker process,
# so it cannot count for the main one; TunerTrainer pops them before the model sees the batch.
COUNT_TOKENS, COUNT_ROWS = "tuner_real_tokens", "tuner_rows"


def pop_counts(batch: dict[str, Any]) -> tuple[int, int]:
    """Remove and return (real tokens, rows) that the collator put in a batch ((0, 0) if none)."""
    return int(batch.pop(COUNT_TOKENS, 0)), int(batch.pop(COUNT_ROWS, 0))


@dataclass
class Collator:
    """Pads (or flattens) one micro-batch and says how many real tokens and rows it holds.

    `tokens_used`/`rows_used` count what training consumed; the Trainer adds to them in the main
    process as it trains on each batch (see pop_counts), never where the loader prefetched it.
    """

    pad_id: int
    strategy: str = "length_grouped"
    max_len: int = 512
    rows: int = 1  # pad_to_max pads the batch dimension too: one static shape for XLA
    tokens_used: int = 0  # real (non-pad) tokens of the micro-batches trained on: for tokens/s
    rows_used: int = 0

    def __call__(self, items: list[list[Encoded]]) -> dict[str, Any]:
        (batch,) = items  # DataLoader batch size is 1: each item is a micro-batch
        out = self._tensors(batch)
        out[COUNT_TOKENS], out[COUNT_ROWS] = sum(len(e.input_ids) for e in batch), len(batch)
        return out

    def _tensors(self, batch: list[Encoded]) -> dict[str, Any]:
        import torch

        if self.strategy in ("padding_free", "packing"):
            ids = [t for e in batch for t in e.input_ids]
            labels = [t for e in batch for t in e.labels]
            pos = [p for e in batch for p in range(len(e.input_ids))]
            return {
                "input_ids": torch.tensor([ids]),
                "labels": torch.tensor([labels]),
                "position_ids": torch.tensor([pos]),
            }
        static = self.strategy == "pad_to_max"
        width = self.max_len if static else max(len(e.input_ids) for e in batch)
        height = max(self.rows, len(batch)) if static else len(batch)
        grid = torch.full((height, width), self.pad_id, dtype=torch.long)
        targets = torch.full((height, width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((height, width), dtype=torch.long)
        for r, e in enumerate(batch):
            n = len(e.input_ids)
            grid[r, :n] = torch.tensor(e.input_ids)
            targets[r, :n] = torch.tensor(e.labels)
            mask[r, :n] = 1
        return {"input_ids": grid, "labels": targets, "attention_mask": mask}
