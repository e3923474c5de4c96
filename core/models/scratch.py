"""Models trained from scratch: transformers configs from the size table, and a BPE tokenizer.

The size table is the user's ("Training Guide: PyTorch Code Generation Model (MPS Backend)"): tiny 12 layers × 768 … xlarge 36 × 1792. "gpt2" is the
GPT-2 family (LayerNorm + learned positions), "llama" the Llama family (RMSNorm + RoPE).
Switching family between stage 1 and stage 2 is refused: the weights would not fit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.config.schema import Preset
from core.errors import TunerError

# size → (layers, hidden); heads = hidden / 64
SIZES: dict[str, tuple[int, int]] = {
    "micro": (2, 64),  # tests and smoke runs
    "tiny": (12, 768),
    "medium": (24, 1024),
    "large": (32, 1600),
    "xlarge": (36, 1792),
}


def scratch_config(architecture: str, size: str, vocab_size: int, context_length: int) -> Any:
    """A transformers config for a from-scratch model of one of the table's sizes."""
    from transformers import AutoConfig

    layers, hidden = SIZES[size]
    heads = max(1, hidden // 64)
    if architecture == "gpt2":
        return AutoConfig.for_model(
            "gpt2",
            n_embd=hidden,
            n_layer=layers,
            n_head=heads,
            n_positions=context_length,
            vocab_size=vocab_size,
            n_inner=4 * hidden,
        )
    if architecture == "gpt_neox":
        return AutoConfig.for_model(
            "gpt_neox",
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=4 * hidden,
            max_position_embeddings=context_length,
            vocab_size=vocab_size,
        )
    inter = 64 * round(hidden * 8 / 3 / 64)  # SwiGLU's usual 8/3 ratio, rounded for matmul shapes
    return AutoConfig.for_model(
        architecture,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=context_length,
        vocab_size=vocab_size,
        tie_word_embeddings=True,
    )


def build_scratch_model(preset: Preset, tokenizer: Any = None) -> Any:
    """A randomly initialized causal LM for the preset's [model.scratch] section."""
    from transformers import AutoModelForCausalLM

    sc = preset.model.scratch
    assert sc is not None
    vocab = len(tokenizer) if tokenizer is not None else sc.vocab_size
    cfg = scratch_config(sc.architecture, sc.size, vocab, sc.context_length)
    if tokenizer is not None:
        cfg.bos_token_id = tokenizer.bos_token_id
        cfg.eos_token_id = tokenizer.eos_token_id
        cfg.pad_token_id = tokenizer.pad_token_id
    return AutoModelForCausalLM.from_config(cfg)


def train_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: Path) -> Any:
    """Train a byte-level BPE tokenizer on the corpus (`tokenizers`), saved as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>", pad_token="<|pad|>"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out_dir)
    return fast


def stage_one_weights(init_from: str, preset: Preset, runs_root: Path | None = None) -> Path:
    """The stage-1 folder to continue from, after refusing an architecture switch."""
    from core.config.loader import read_toml
    from core.runs import ADAPTER_DIR, PRESET_FILE, complete_checkpoints, resolve_run

    path = Path(init_from)
    run_dir = path if (path / PRESET_FILE).is_file() else resolve_run(init_from, runs_root)
    stage1 = read_toml(run_dir / PRESET_FILE).get("model", {}).get("scratch") or {}
    sc = preset.model.scratch
    if sc is not None and stage1:
        for key in ("architecture", "size"):
            if stage1.get(key) != getattr(sc, key):
                raise TunerError(
                    f"stage 1 ({run_dir.name}) was trained with model.scratch.{key} = {stage1.get(key)!r}, "
                    f"this preset asks for {getattr(sc, key)!r}: the weights do not fit that architecture",
                    kind="config",
                    hint=f"set model.scratch.{key} = {stage1.get(key)!r} for stage 2",
                )
    best = _best_checkpoint(run_dir)
    if best is not None:
        return best
    if (run_dir / ADAPTER_DIR / "config.json").is_file():
        return run_dir / ADAPTER_DIR
    done = complete_checkpoints(run_dir)
    if done:
        return done[-1]
    raise TunerError(
        f"{run_dir.name} has no saved weights to continue from",
        kind="config",
        hint="finish stage 1 first (or pick another run)",
    )


def _best_checkpoint(run_dir: Path) -> Path | None:
    from core.runs import complete_checkpoints

    done = complete_checkpoints(run_dir)
    if not done:
        return None
    state = json.loads((done[-1] / "trainer_state.json").read_text())
    best = state.get("best_model_checkpoint")
    if best:
        cand = run_dir / "checkpoints" / Path(best).name
        if cand in done:
            return cand
    return None


def iter_corpus_sample(texts: Iterator[str], limit_chars: int) -> Iterator[str]:
    """The first `limit_chars` characters of a corpus (enough to train a tokenizer)."""
    seen = 0
    for t in texts:
        yield t
        seen += len(t)
        if seen >= limit_chars:
            return
