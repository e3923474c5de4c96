"""Tiny models built from configs (seconds, offline) and presets that train them."""

from __future__ import annotations

from pathlib import Path

import pytest


def build_tiny(folder: Path, arch: str = "llama") -> Path:
    """Save a random-initialized tiny causal LM with the embedded SmolLM2 tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from core.models.embedded import converted_dir

    tok = AutoTokenizer.from_pretrained(converted_dir())
    common = dict(vocab_size=len(tok), max_position_embeddings=512, tie_word_embeddings=True)
    shapes = {
        "llama": dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
        ),
        "qwen2": dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
        ),
    }
    cfg = AutoConfig.for_model(
        arch,
        **common,
        **shapes[arch],
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """A 2-layer Llama (hidden 64: bitsandbytes CPU 4-bit needs multiples of its 64 blocksize) saved to disk."""
    return build_tiny(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def tiny_preset(tmp_path, tiny_llama, monkeypatch):
    """Write a preset training the tiny model on the bundled data; returns a function of extra TOML."""
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data"))

    def make(extra: str = "", name: str = "tiny") -> Path:
        text = f'''name = "{name}"
[model]
id = "{tiny_llama}"
device = "cpu"
[[data.sources]]
kind = "bundled"
[data.split]
train = 0.8
val = 0.1
test = 0.1
[lora]
r = 4
alpha = 8
target_modules = ["q_proj", "v_proj"]
[train]
max_steps = 6
micro_batch_size = 4
max_tokens_per_batch = 512
lr = 1e-3
save_every = 3
save_limit = 2
max_seq_len = 128
[eval]
every = 3
max_val_rows = 8
exact_match_rows = 4
sample_every = 3
sample_prompts = ["list files"]
max_new_tokens = 8
[log]
every = 1
'''
        path = tmp_path / f"{name}.toml"
        path.write_text(_merge(text, extra))
        return path

    return make


def _merge(base: str, extra: str) -> str:
    """Apply `section.key = value` lines from extra over the base TOML text (simple, for tests)."""
    import sys

    import tomli_w

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads(base)
    for section, values in tomllib.loads(extra).items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    return tomli_w.dumps(data)
