"""Model shapes for the estimate: the published table, from-scratch sizes, config.json parsing, and which shape a preset's model has.

No torch or transformers: a shape comes from the table, from core.models.scratch's size table, or
from a config.json already on disk (a local folder, the HF cache, a converted GGUF).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from core.config.schema import EMBEDDED_MODEL
from core.models.scratch import SIZES

if TYPE_CHECKING:  # pragma: no cover
    from core.config.schema import Preset


@dataclass(frozen=True)
class Arch:
    """The shape of a decoder-only transformer, enough to count parameters and activations."""

    family: str  # "llama" (Llama/Qwen2/Mistral/SmolLM: gated SiLU MLP) | "gpt_neox" | "gpt2"
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool
    head_dim: int = 0  # 0: hidden // heads
    qkv_bias: bool = False  # Qwen2 has biases on q/k/v
    positions: int = 0  # learned position embeddings (GPT-2), 0 for rotary models
    resid_dropout: float = 0.0  # hidden dropout in the model config (GPT-2 defaults to 0.1)
    attn_dropout: float = 0.0

    @property
    def hd(self) -> int:
        """Head dimension."""
        return self.head_dim or self.hidden // self.heads

    @property
    def q_dim(self) -> int:
        """Width of the query projection (heads × head dim)."""
        return self.heads * self.hd

    @property
    def kv_dim(self) -> int:
        """Width of the key and value projections (kv heads × head dim)."""
        return self.kv_heads * self.hd

    @property
    def gated(self) -> bool:
        """True for a gated (SwiGLU) MLP."""
        return self.family == "llama"

    @property
    def mlp_act_tensors(self) -> int:
        """Intermediate-sized tensors the MLP's activation keeps for backward (measured on CPU)."""
        # SwiGLU: SiLU input + output + up_proj output; GPT-NeoX: exact GELU keeps its input;
        # GPT-2's gelu_new is a tanh composite that keeps three.
        return {"llama": 3, "gpt_neox": 1, "gpt2": 3}[self.family]

    def linears(self) -> list[Linear]:
        """The Linear (or GPT-2 Conv1D) layers of ONE block: what bitsandbytes quantizes and LoRA targets."""
        h, i = self.hidden, self.intermediate
        if self.family == "gpt_neox":
            return [
                Linear("attention.query_key_value", h, 3 * h, True, "attn_in"),
                Linear("attention.dense", h, h, True, "o_in"),
                Linear("mlp.dense_h_to_4h", h, i, True, "mlp_in"),
                Linear("mlp.dense_4h_to_h", i, h, True, "down_in"),
            ]
        if self.family == "gpt2":
            return [
                Linear("attn.c_attn", h, 3 * h, True, "attn_in"),
                Linear("attn.c_proj", h, h, True, "o_in"),
                Linear("mlp.c_fc", h, i, True, "mlp_in"),
                Linear("mlp.c_proj", i, h, True, "down_in"),
            ]
        b = self.qkv_bias
        return [
            Linear("self_attn.q_proj", h, self.q_dim, b, "attn_in"),
            Linear("self_attn.k_proj", h, self.kv_dim, b, "attn_in"),
            Linear("self_attn.v_proj", h, self.kv_dim, b, "attn_in"),
            Linear("self_attn.o_proj", self.q_dim, h, False, "o_in"),
            Linear("mlp.gate_proj", h, i, False, "mlp_in"),
            Linear("mlp.up_proj", h, i, False, "mlp_in"),
            Linear("mlp.down_proj", i, h, False, "down_in"),
        ]

    def linear_params(self) -> int:
        """Weights of every block's linear layers (biases not included: they are not quantized)."""
        return self.layers * sum(lin.inp * lin.out for lin in self.linears())

    def other_params(self) -> int:
        """Everything that is not a block Linear weight: embeddings, lm_head, norms, biases, positions."""
        h = self.hidden
        norm = 2 * h if self.family in ("gpt_neox", "gpt2") else h  # LayerNorm has a bias, RMSNorm not
        biases = sum(lin.out for lin in self.linears() if lin.bias)
        per_layer = 2 * norm + biases
        embed = self.vocab * h * (1 if self.tied else 2)
        return embed + self.layers * per_layer + norm + self.positions * h

    def embedding_params(self) -> int:
        """Token embeddings, the untied lm_head and learned positions."""
        return self.vocab * self.hidden * (1 if self.tied else 2) + self.positions * self.hidden

    def total_params(self) -> int:
        """Every parameter of the model."""
        return self.linear_params() + self.other_params()

    def describe(self) -> str:
        """One line: family, layers × hidden, heads, ffn, vocab, embeddings, parameters."""
        kv = f", {self.kv_heads} kv heads" if self.kv_heads != self.heads else ""
        return (
            f"{self.family} {self.layers}×{self.hidden}, {self.heads} heads{kv}, ffn {self.intermediate}, "
            f"vocab {self.vocab}, {'tied' if self.tied else 'untied'} embeddings, "
            f"{self.total_params() / 1e9:.2f}B params"
        )


class Linear(NamedTuple):
    """One Linear (or Conv1D) layer of a block."""

    path: str  # qualified name inside a block, e.g. "self_attn.q_proj"
    inp: int
    out: int
    bias: bool
    group: str  # which activation feeds it: attn_in | o_in | mlp_in | down_in

    @property
    def leaf(self) -> str:
        """The module's own name, e.g. q_proj."""
        return self.path.rsplit(".", 1)[-1]


def _qwen(hidden: int, layers: int, heads: int, kv: int, inter: int, vocab: int, tied: bool) -> Arch:
    return Arch("llama", hidden, layers, heads, kv, inter, vocab, tied, qkv_bias=True)


def _neox(hidden: int, layers: int, heads: int) -> Arch:
    return Arch("gpt_neox", hidden, layers, heads, heads, 4 * hidden, 50304, False)


_SMOLLM2_135M = Arch("llama", 576, 30, 9, 3, 1536, 49152, True)

# Published shapes (config.json of each model on the Hub). Keys are lower case, without "-instruct".
KNOWN: dict[str, Arch] = {
    "qwen/qwen2.5-coder-0.5b": _qwen(896, 24, 14, 2, 4864, 151936, True),
    "qwen/qwen2.5-coder-1.5b": _qwen(1536, 28, 12, 2, 8960, 151936, True),
    "qwen/qwen2.5-coder-3b": _qwen(2048, 36, 16, 2, 11008, 151936, True),
    "qwen/qwen2.5-coder-7b": _qwen(3584, 28, 28, 4, 18944, 152064, False),
    "qwen/qwen2.5-coder-14b": _qwen(5120, 48, 40, 8, 13824, 152064, False),
    "qwen/qwen2.5-0.5b": _qwen(896, 24, 14, 2, 4864, 151936, True),
    "qwen/qwen2.5-1.5b": _qwen(1536, 28, 12, 2, 8960, 151936, True),
    "qwen/qwen2.5-7b": _qwen(3584, 28, 28, 4, 18944, 152064, False),
    "eleutherai/pythia-160m": _neox(768, 12, 12),
    "eleutherai/pythia-410m": _neox(1024, 24, 16),
    "eleutherai/pythia-1.4b": _neox(2048, 24, 16),
    "huggingfacetb/smollm2-135m": _SMOLLM2_135M,
    "huggingfacetb/smollm2-360m": Arch("llama", 960, 32, 15, 5, 2560, 49152, True),
    EMBEDDED_MODEL: _SMOLLM2_135M,
}


def scratch_arch(architecture: str, size: str, vocab: int, context: int) -> Arch:
    """The from-scratch model of a preset's [model.scratch], as core.models.scratch.scratch_config builds it."""
    layers, hidden = SIZES[size]
    heads = max(1, hidden // 64)
    if architecture == "gpt2":  # GPT2Config defaults: tied, learned positions, 0.1 dropout, MLP 4 × hidden
        return Arch(
            "gpt2",
            hidden,
            layers,
            heads,
            heads,
            4 * hidden,
            vocab,
            True,
            positions=context,
            resid_dropout=0.1,
            attn_dropout=0.1,
        )
    if architecture == "gpt_neox":
        return Arch("gpt_neox", hidden, layers, heads, heads, 4 * hidden, vocab, False)
    inter = 64 * round(hidden * 8 / 3 / 64)  # SwiGLU at the usual 8/3 ratio, tied embeddings
    return Arch("llama", hidden, layers, heads, heads, inter, vocab, True, qkv_bias=architecture == "qwen2")


_LLAMA_TYPES = {
    "llama",
    "qwen2",
    "qwen3",
    "mistral",
    "smollm3",
    "olmo",
    "olmo2",
    "granite",
    "gemma",
    "gemma2",
    "starcoder2",
}


def arch_from_config(cfg: dict[str, Any]) -> Arch:
    """An Arch from a transformers config.json; ValueError for a model type this module does not know."""
    mt = cfg.get("model_type", "")
    if mt in _LLAMA_TYPES:
        h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
        return Arch(
            "llama",
            h,
            cfg["num_hidden_layers"],
            heads,
            cfg.get("num_key_value_heads") or heads,
            cfg["intermediate_size"],
            cfg["vocab_size"],
            bool(cfg.get("tie_word_embeddings", mt in ("gemma", "gemma2"))),
            head_dim=cfg.get("head_dim") or 0,
            qkv_bias=mt == "qwen2" or bool(cfg.get("attention_bias")),
        )
    if mt == "gpt_neox":
        h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
        return Arch(
            "gpt_neox",
            h,
            cfg["num_hidden_layers"],
            heads,
            heads,
            cfg.get("intermediate_size") or 4 * h,
            cfg["vocab_size"],
            bool(cfg.get("tie_word_embeddings", False)),
            resid_dropout=float(cfg.get("hidden_dropout", 0.0) or 0.0),
        )
    if mt == "gpt2":
        h, heads = cfg["n_embd"], cfg["n_head"]
        return Arch(
            "gpt2",
            h,
            cfg["n_layer"],
            heads,
            heads,
            cfg.get("n_inner") or 4 * h,
            cfg["vocab_size"],
            bool(cfg.get("tie_word_embeddings", True)),
            positions=cfg.get("n_positions", 1024),
            resid_dropout=float(cfg.get("resid_pdrop", 0.1)),
            attn_dropout=float(cfg.get("attn_pdrop", 0.1)),
        )
    raise ValueError(
        f"model_type {mt!r} is not one the estimator knows (llama/qwen2/mistral-like, gpt_neox, gpt2)"
    )


def _hub_cached_config(model_id: str) -> Path | None:
    """config.json of a hub model already in the local Hugging Face cache (no network)."""
    from core.hf_paths import repo_folder  # the cache layout as huggingface_hub defines it

    snaps = repo_folder(model_id) / "snapshots"
    if snaps.is_dir():
        for cfg in sorted(snaps.glob("*/config.json")):
            return cfg
    return None


def _gguf_converted_config(gguf: Path) -> Path | None:
    """config.json of a GGUF file already converted by core.models.embedded (same cache layout)."""
    root = Path(os.environ.get("TUNER_CACHE") or Path.home() / ".cache" / "tuner") / "models"
    for cfg in sorted(root.glob(f"{gguf.stem}-*/config.json")):
        return cfg
    return None


def resolve_arch(preset: Preset) -> tuple[Arch, int | None]:
    """(architecture, context limit) of the preset's model; ValueError with a one-line reason if unknown."""
    m = preset.model
    if m.scratch is not None:
        s = m.scratch
        return scratch_arch(s.architecture, s.size, s.vocab_size, s.context_length), s.context_length
    key = m.id.strip().lower()
    if key.startswith("embedded:"):
        if key in KNOWN:
            return KNOWN[key], None
        raise ValueError(f"unknown embedded model {m.id!r}")
    base = re.sub(r"-instruct$", "", key)
    if base in KNOWN:
        return KNOWN[base], None
    path = Path(m.id).expanduser()
    cfg_path: Path | None = None
    if path.suffix == ".gguf" or m.gguf_file:
        gguf = path / m.gguf_file if m.gguf_file else path
        cfg_path = _gguf_converted_config(gguf)
        if cfg_path is None:
            raise ValueError(f"GGUF {gguf.name}: shape known only after its first load converts it")
    elif path.is_dir():
        cfg_path = path / "config.json"
        if not cfg_path.is_file():
            raise ValueError(f"{m.id}: no config.json in this folder")
    elif m.id.startswith((".", "/", "~")):
        raise ValueError(f"model folder {m.id!r} does not exist")
    else:
        cfg_path = _hub_cached_config(m.id)
        if cfg_path is None:
            raise ValueError(
                f"{m.id!r}: shape unknown offline (not in the estimator's table nor in the local HF cache)"
            )
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{cfg_path}: unreadable config.json ({e})") from None
    return arch_from_config(cfg), None
