"""Run llama.cpp's unmodified convert_hf_to_gguf.py under today's transformers (a subprocess script).

usage: python gguf_converter_shim.py LLAMA_CPP_DIR <convert_hf_to_gguf.py arguments>

Runs in its own process because the converter needs the gguf-py vendored with it first on
sys.path (newer than PyPI's `gguf`, which transformers imports under the same name). It patches
three things the converter (pinned to transformers 4.57) does not expect from transformers 5:
- GPT-NeoX: `rotary_pct` now lives in rope_parameters.partial_rotary_factor, and
  AutoConfig.to_dict() drops the old key;
- GPT-2: configs written without `n_ctx` (it is `n_positions`);
- the BPE pre-tokenizer hash: AutoTokenizer may swap in a family's own pre-tokenizer (Qwen2's for any
  model_type qwen2), so an unrecognized hash is retried with the raw tokenizer.json the model ships;
and it writes the end-of-sequence id the run's generation_config.json names (the converter reads
only the tokenizer's) when the two differ. Imports nothing from tuner.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any


def _patch_hparams(base: Any) -> None:
    original = base.ModelBase.load_hparams

    def load_hparams(dir_model: Path, is_mistral_format: bool) -> dict:
        hparams = original(dir_model, is_mistral_format)
        rope = hparams.get("rope_parameters") or {}
        if hparams.get("model_type") == "gpt_neox" and "rotary_pct" not in hparams:
            hparams["rotary_pct"] = rope.get(
                "partial_rotary_factor", hparams.get("partial_rotary_factor", 1.0)
            )
        if hparams.get("model_type") == "gpt2" and "n_ctx" not in hparams:
            hparams["n_ctx"] = hparams["n_positions"]
        return hparams

    base.ModelBase.load_hparams = staticmethod(load_hparams)


class _RawTokenizer:
    """The `encode` the hash check calls, from tokenizer.json as shipped (no family-specific class)."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids


def _patch_pre_tokenizer_hash(base: Any) -> None:
    original = base.TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self: Any, tokenizer: Any) -> str:
        try:
            return original(self, tokenizer)
        except NotImplementedError:
            raw = Path(self.dir_model) / "tokenizer.json"
            if not raw.is_file():
                raise
            return original(self, _RawTokenizer(raw))

    base.TextModel.get_vocab_base_pre = get_vocab_base_pre


def _generation_eos(model_dir: Path) -> list[int]:
    path = model_dir / "generation_config.json"
    if not path.is_file():
        return []
    value = json.loads(path.read_text()).get("eos_token_id")
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def _patch_eos(gguf: Any) -> None:
    original = gguf.SpecialVocab._load

    def _load(self: Any, path: Path) -> None:
        original(self, path)
        wanted = _generation_eos(Path(path))
        # GGUF holds one EOS id; llama.cpp also stops on end-of-turn tokens it recognizes by text.
        if wanted and self.special_token_ids.get("eos") not in wanted:
            self.special_token_ids["eos"] = wanted[0]

    gguf.SpecialVocab._load = _load


def main() -> None:
    """Patch the converter for transformers 5 and run it with the remaining arguments."""
    llama_dir = Path(sys.argv.pop(1)).resolve()
    # Replace this script's folder (core/export, which holds a gguf.py) with llama.cpp's.
    sys.path[0] = str(llama_dir)
    sys.path.insert(1, str(llama_dir / "gguf-py"))
    import conversion.base as base
    import gguf  # the vendored gguf-py, which the converter's own import then reuses

    _patch_hparams(base)
    _patch_pre_tokenizer_hash(base)
    _patch_eos(gguf)
    sys.argv[0] = str(llama_dir / "convert_hf_to_gguf.py")
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
