"""Make an export stop where training taught the model to stop.

Training appends the chat template's end-of-turn marker (chat style) or the tokenizer's EOS
(instruction style) after every answer (core.data.formatting.completion_text). An export whose
tokenizer or generation_config.json names another EOS (a base model whose EOS is
`<|endoftext|>` while its template ends turns with `<|im_end|>`) rambles on past the answer in
llama.cpp, Ollama and vLLM: the most common "the export answers garbage" complaint.
"""

from __future__ import annotations

from typing import Any

from core.data.formatting import Style, completion_text


def trained_stop_ids(tokenizer: Any, style: Style, system_prompt: str | None = None) -> list[int]:
    """Token ids that end an answer as the run trained it: the completion's last special token, then EOS."""
    text = completion_text(tokenizer, "list files", "ls", style, system_prompt)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    stop: list[int] = []
    if ids and ids[-1] in set(tokenizer.all_special_ids):
        stop.append(int(ids[-1]))
    if tokenizer.eos_token_id is not None:
        stop.append(int(tokenizer.eos_token_id))
    return list(dict.fromkeys(stop))


def apply_stop_tokens(tokenizer: Any, stop_ids: list[int]) -> str | None:
    """Make the trained stop token the tokenizer's EOS (pad kept or set); returns the old EOS when changed."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not stop_ids or stop_ids[0] == tokenizer.eos_token_id:
        return None
    old = tokenizer.eos_token
    tokenizer.eos_token = tokenizer.convert_ids_to_tokens(stop_ids[0])
    return old


def set_generation_stop(model: Any, tokenizer: Any, stop_ids: list[int]) -> None:
    """generation_config.json and config.json: EOS = the trained stop ids, pad = the tokenizer's pad."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(stop_ids), None)
    gen = model.generation_config
    gen.eos_token_id = stop_ids[0] if len(stop_ids) == 1 else list(stop_ids)
    gen.pad_token_id = pad
    if tokenizer.bos_token_id is not None:
        gen.bos_token_id = tokenizer.bos_token_id
    model.config.eos_token_id = stop_ids[0] if stop_ids else model.config.eos_token_id
    model.config.pad_token_id = pad
