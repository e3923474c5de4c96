"""Token lengths of a dataset's rows for the Data pane's histogram (batched, sampled, in a worker)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from tuner_tui.hf_loading import load_tokenizer

TOKEN_SAMPLE = 20_000  # rows tokenized at most for the length histogram


def token_lengths(
    preset: Any,
    rows: list[Any],
    progress: Callable[[int, int], None] | None = None,
    limit: int = TOKEN_SAMPLE,
    chunk: int = 1000,
) -> tuple[list[int], int] | None:
    """(prompt + response token counts, rows in the data) with the preset's tokenizer; None without one.

    Counts the same tokens as core.data.preview.token_lengths, but tokenizes in batches and
    samples at most `limit` rows (deterministically) so that large datasets stay quick.
    """
    from core.data.formatting import completion_text, prompt_text, resolve_style

    tok = load_tokenizer(preset.model)
    if tok is None:
        return None
    style = resolve_style(tok, preset.data.prompt_format)
    system = preset.data.system_prompt
    sample = rows if len(rows) <= limit else random.Random(0).sample(rows, limit)
    out: list[int] = []
    for start in range(0, len(sample), chunk):
        part = sample[start : start + chunk]
        prompts = [prompt_text(tok, ex.instruction, style, system) for ex in part]
        comps = [completion_text(tok, ex.instruction, ex.command, style, system) for ex in part]
        p_ids = tok(prompts, add_special_tokens=style == "instruction")["input_ids"]
        c_ids = tok(comps, add_special_tokens=False)["input_ids"]
        out += [len(a) + len(b) for a, b in zip(p_ids, c_ids, strict=True)]
        if progress is not None:
            progress(len(out), len(sample))
    return out, len(rows)
