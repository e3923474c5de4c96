"""Turn a preset's data into what the Trainer consumes: datasets of micro-batches and collators.

Two tasks: "instruct" (NL→bash pairs through the cleaning pipeline, prompt masked) and "text"
(streamed corpora cut into full blocks, every token trained).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import events as ev
from core.config.schema import Preset
from core.errors import TunerError


@dataclass
class Prepared:
    """Everything about the data that the run needs."""

    tokenizer: Any
    style: str
    train_dataset: Any
    eval_dataset: Any
    collator: Any
    eval_collator: Any
    train_rows: int
    val_rows: int
    dropped_too_long: int
    data_hash: str
    steps_per_epoch: int | None  # None: a stream without a length (needs max_steps / steps_per_epoch)
    em_rows: list = field(default_factory=list)  # val rows for exact match (instruct only)
    extra: dict[str, Any] = field(default_factory=dict)  # for provenance


def prepare_instruct(
    preset: Preset, base_dir: Path | None, emit: Callable[[ev.Event], None], world: int, cores: int = 1
) -> Prepared:
    """Pairs → cleaned splits → tokenized rows → token-bounded micro-batches.

    `cores` > 1 (XLA SPMD): one batch feeds every core, so it holds micro_batch_size rows per core.
    """
    from core.data.build import build_data
    from core.data.formatting import resolve_style
    from core.models.loader import load_tokenizer
    from core.train.batches import BatchDataset, Collator, make_batches, tokenize_rows

    data = build_data(preset, base_dir)
    tokenizer = load_tokenizer(preset.model)
    if tokenizer is None:
        raise TunerError(
            'a from-scratch model needs data.task = "text" (or model.scratch.tokenizer)', kind="config"
        )
    style = resolve_style(tokenizer, preset.data.prompt_format)
    t, max_len = preset.train, preset.train.max_seq_len
    val_rows = data.split("val")
    train_tok = tokenize_rows(tokenizer, data.split("train"), style, preset.data.system_prompt, max_len)
    val_tok = tokenize_rows(
        tokenizer, val_rows[: preset.eval.max_val_rows], style, preset.data.system_prompt, max_len
    )
    if train_tok.dropped_too_long:
        emit(
            ev.WarningEvent(
                message=f"{train_tok.dropped_too_long} training rows are longer than max_seq_len "
                f"{max_len} tokens and were dropped (not truncated)",
                kind="too_long",
            )
        )
    if not train_tok.rows:
        raise TunerError(
            f"no training row fits in max_seq_len = {max_len} tokens",
            kind="data",
            hint="raise train.max_seq_len",
        )
    rows = t.micro_batch_size * cores
    max_tokens = t.max_tokens_per_batch * cores if t.max_tokens_per_batch else None
    batches = make_batches(
        [len(r.input_ids) for r in train_tok.rows],
        strategy=t.batching,
        micro_batch_size=rows,
        max_tokens=max_tokens,
        max_len=max_len,
        seed=t.seed,
    )
    val_batches = make_batches(
        [len(r.input_ids) for r in val_tok.rows],
        strategy=t.batching,
        micro_batch_size=rows,
        max_tokens=max_tokens,
        max_len=max_len,
        seed=t.seed,
        shuffle=False,
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    return Prepared(
        tokenizer=tokenizer,
        style=style,
        train_dataset=BatchDataset(train_tok.rows, batches),
        eval_dataset=BatchDataset(val_tok.rows, val_batches) if val_tok.rows else None,
        collator=Collator(pad_id, t.batching, max_len, rows=rows),
        eval_collator=Collator(pad_id, t.batching, max_len, rows=rows),
        train_rows=len(train_tok.rows),
        val_rows=len(val_tok.rows),
        dropped_too_long=train_tok.dropped_too_long,
        data_hash=data.data_hash,
        steps_per_epoch=max(1, math.ceil(len(batches) / (t.grad_accum * world))),
        em_rows=val_rows[: preset.eval.exact_match_rows],
        extra={"data_dir": str(data.path)},
    )


def prepare_text(
    preset: Preset, base_dir: Path | None, run_dir: Path, emit: Callable[[ev.Event], None]
) -> Prepared:
    """Streamed text → full blocks; the first blocks are the validation set."""
    from core.data.formatting import Encoded
    from core.data.text import (
        TextBlocks,
        as_iterable_dataset,
        iter_texts,
        text_fingerprint,
        validation_blocks,
    )
    from core.models.loader import load_tokenizer
    from core.train.batches import BatchDataset, Collator

    t = preset.train
    tokenizer = load_tokenizer(preset.model)
    if tokenizer is None:  # from scratch without a tokenizer: train one on the corpus
        from core.models.scratch import iter_corpus_sample, train_tokenizer

        sc = preset.model.scratch
        assert sc is not None
        tok_dir = run_dir / "tokenizer"
        if (tok_dir / "tokenizer.json").is_file():  # resuming: the same tokenizer
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        else:
            tokenizer = train_tokenizer(
                iter_corpus_sample(iter_texts(preset.data, base_dir), 20_000_000), sc.vocab_size, tok_dir
            )
            emit(
                ev.WarningEvent(
                    message=f"trained a {len(tokenizer)}-token BPE tokenizer on the corpus → {tok_dir}",
                    kind="tokenizer",
                )
            )
    n_val = preset.eval.max_val_rows or 16
    val = validation_blocks(preset.data, tokenizer, t.max_seq_len, n_val, base_dir)
    blocks = TextBlocks(
        preset.data, tokenizer, t.max_seq_len, t.micro_batch_size, skip=len(val), base_dir=base_dir
    )
    val_rows = [Encoded(ids, list(ids)) for ids in val]
    val_batches = [
        list(range(i, min(i + t.micro_batch_size, len(val_rows))))
        for i in range(0, len(val_rows), t.micro_batch_size)
    ]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    return Prepared(
        tokenizer=tokenizer,
        style="text",
        train_dataset=as_iterable_dataset(blocks),
        eval_dataset=BatchDataset(val_rows, val_batches),
        collator=Collator(pad_id, "length_grouped", t.max_seq_len),  # blocks are full: nothing to pad
        eval_collator=Collator(pad_id, "length_grouped", t.max_seq_len),
        train_rows=0,
        val_rows=len(val_rows),
        dropped_too_long=0,
        data_hash=text_fingerprint(preset.data, val),
        steps_per_epoch=t.steps_per_epoch,
        extra={"streaming": True, "val_blocks": len(val_rows)},
    )
