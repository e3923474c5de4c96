"""Prompt formatting: chat template when there is one, the documents' format otherwise; loss on the response only."""

from __future__ import annotations

import copy

import pytest

from core.data.formatting import IGNORE_INDEX, completion_text, encode_example, prompt_text, resolve_style
from core.errors import ConfigError


def test_chat_template_is_used_and_prompt_masked(smol_tokenizer):
    tok = smol_tokenizer
    assert resolve_style(tok, "auto") == "chat"
    enc = encode_example(tok, "list files", "ls -la", "chat")
    assert len(enc.input_ids) == len(enc.labels)
    n_prompt = enc.labels.index(next(t for t in enc.labels if t != IGNORE_INDEX))
    assert all(t == IGNORE_INDEX for t in enc.labels[:n_prompt])
    response = tok.decode(enc.input_ids[n_prompt:])
    assert response == "ls -la<|im_end|>", "train on the command and the end-of-turn marker only"
    prompt = tok.decode(enc.input_ids[:n_prompt])
    assert prompt == prompt_text(tok, "list files", "chat") and prompt.endswith("<|im_start|>assistant\n")


def test_system_prompt_goes_into_the_template(smol_tokenizer):
    text = prompt_text(smol_tokenizer, "list files", "chat", "You write bash.")
    assert "You write bash." in text and "SmolLM" not in text


def test_instruction_format_without_template(smol_tokenizer):
    tok = copy.deepcopy(smol_tokenizer)
    tok.chat_template = None
    assert resolve_style(tok, "auto") == "instruction"
    enc = encode_example(tok, "list files", "ls -la", "instruction")
    first = next(i for i, t in enumerate(enc.labels) if t != IGNORE_INDEX)
    assert tok.decode(enc.input_ids[:first]) == "Instruction: list files\n\nResponse:"
    assert tok.decode(enc.input_ids[first:]) == " ls -la" + tok.eos_token
    assert enc.num_response_tokens == len(enc.input_ids) - first
    with pytest.raises(ConfigError, match="no chat template"):
        resolve_style(tok, "chat")


def test_completion_ends_with_eos(smol_tokenizer):
    assert completion_text(smol_tokenizer, "x", "pwd", "instruction").endswith(smol_tokenizer.eos_token)
