"""Micro-batches are bounded by rows and tokens; collators pad or flatten without changing the loss."""

from __future__ import annotations

import random

import pytest
import torch

from core.data.formatting import IGNORE_INDEX, Encoded
from core.train.batches import BatchDataset, Collator, make_batches


def lengths(n=500, seed=0):
    rng = random.Random(seed)
    return [
        rng.choice([20, 30, 40, 60, 440]) if rng.random() < 0.05 else rng.randint(20, 60) for _ in range(n)
    ]


@pytest.mark.parametrize("strategy", ["length_grouped", "padding_free", "pad_to_max"])
def test_every_row_once_and_budgets_hold(strategy):
    ls = lengths()
    batches = make_batches(ls, strategy=strategy, micro_batch_size=16, max_tokens=1024, max_len=512, seed=1)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(ls)))
    for b in batches:
        assert len(b) <= 16
        if strategy == "length_grouped":
            assert len(b) == 1 or max(ls[i] for i in b) * len(b) <= 1024
        if strategy == "padding_free":
            assert len(b) == 1 or sum(ls[i] for i in b) <= 1024


def test_length_grouping_cuts_padding():
    ls = lengths()

    def padded(strategy):
        bs = make_batches(ls, strategy=strategy, micro_batch_size=16, max_tokens=10**6, max_len=512, seed=1)
        return sum(max(ls[i] for i in b) * len(b) for b in bs)

    assert padded("length_grouped") < 0.8 * padded("padding_free")  # padding_free order is unsorted


def test_batches_are_deterministic_per_seed():
    ls = lengths()
    a = make_batches(ls, strategy="length_grouped", micro_batch_size=8, max_tokens=1024, max_len=512, seed=3)
    b = make_batches(ls, strategy="length_grouped", micro_batch_size=8, max_tokens=1024, max_len=512, seed=3)
    c = make_batches(ls, strategy="length_grouped", micro_batch_size=8, max_tokens=1024, max_len=512, seed=4)
    assert a == b and a != c


def enc(ids, n_prompt):
    return Encoded(ids, [IGNORE_INDEX] * n_prompt + ids[n_prompt:])


def test_collator_pads_and_counts_real_tokens():
    col = Collator(pad_id=0, strategy="length_grouped")
    out = col([[enc([5, 6, 7], 1), enc([8, 9], 1)]])
    assert out["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert out["labels"].tolist() == [[IGNORE_INDEX, 6, 7], [IGNORE_INDEX, 9, IGNORE_INDEX]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    from core.train.batches import pop_counts

    assert pop_counts(out) == (5, 2) and "tuner_rows" not in out, (
        "counts ride along, then leave before the model"
    )


def test_pad_to_max_has_one_static_shape():
    col = Collator(pad_id=0, strategy="pad_to_max", max_len=8, rows=4)
    assert col([[enc([5, 6], 1)]])["input_ids"].shape == (4, 8)


def test_padding_free_loss_equals_padded_loss(tiny_llama):
    """Packed rows with restarting position_ids must not attend across rows (same loss as padding).

    transformers only builds the per-row mask when no KV cache is in use: the trainer turns it off.
    """
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, attn_implementation="sdpa").eval()
    g = torch.Generator().manual_seed(0)
    rows = [enc(torch.randint(10, 1000, (n,), generator=g).tolist(), 3) for n in (7, 12, 5)]
    padded = Collator(pad_id=0, strategy="length_grouped")([rows])
    flat = Collator(pad_id=0, strategy="padding_free")([rows])
    with torch.no_grad():
        lp = model(**padded, use_cache=False).loss
        lf = model(**flat, use_cache=False).loss
    assert lf.item() == pytest.approx(lp.item(), rel=1e-4)


def test_batch_dataset_items_are_micro_batches():
    rows = [enc([1, 2, 3], 1) for _ in range(5)]
    ds = BatchDataset(rows, [[0, 1], [2, 3, 4]])
    assert len(ds) == 2 and len(ds[1]) == 3
