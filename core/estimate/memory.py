"""Training-memory estimate for a preset: pure arithmetic on the model's published shape.

No torch, transformers or peft import anywhere in this module (the TUI imports it to show an
estimate next to a preset); `detected_memory()` asks nvidia-smi / psutil, never torch.

Every component is computed separately and shown with a note (see docs/memory.md for the
formulas and a CPU validation against measured peaks):

- base weights by dtype / quantization (bitsandbytes quantizes Linear layers only; the
  embeddings, lm_head and norms stay unquantized, in the weights' dtype: tuner does not upcast
  them to fp32 the way peft's prepare_model_for_kbit_training would);
- LoRA parameters, their gradients and the optimizer's states;
- activations kept for backward, per layer, counted tensor by tensor in the style of
  Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models"),
  with and without gradient checkpointing;
- the logits and the loss: batch × seq × vocab, which dominates small models with 49K–152K
  vocabularies (SmolLM2-135M at 1024 tokens: 0.6 GiB of logits vs 0.5 GiB of weights);
- framework overhead (CUDA context, or the Python process and heap slack on CPU).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from core.config.schema import Preset

GiB = 1 << 30
EMBEDDED_MODEL = "embedded:smollm2-135m-instruct"  # same string as core.config.schema.EMBEDDED_MODEL

# ---------------------------------------------------------------------------------------------
# Architectures
# ---------------------------------------------------------------------------------------------


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
        return self.head_dim or self.hidden // self.heads

    @property
    def q_dim(self) -> int:
        return self.heads * self.hd

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.hd

    @property
    def gated(self) -> bool:
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
        return self.vocab * self.hidden * (1 if self.tied else 2) + self.positions * self.hidden

    def total_params(self) -> int:
        return self.linear_params() + self.other_params()

    def describe(self) -> str:
        kv = f", {self.kv_heads} kv heads" if self.kv_heads != self.heads else ""
        return (
            f"{self.family} {self.layers}×{self.hidden}, {self.heads} heads{kv}, ffn {self.intermediate}, "
            f"vocab {self.vocab}, {'tied' if self.tied else 'untied'} embeddings, "
            f"{self.total_params() / 1e9:.2f}B params"
        )


class Linear(NamedTuple):
    path: str  # qualified name inside a block, e.g. "self_attn.q_proj"
    inp: int
    out: int
    bias: bool
    group: str  # which activation feeds it: attn_in | o_in | mlp_in | down_in

    @property
    def leaf(self) -> str:
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

# From-scratch sizes: the same table as core.models.scratch.SIZES (the user's seeds/003: tiny 12/768,
# medium 24/1024, large 32/1600, xlarge 36/1792; "micro" is tuner's test size), copied so that this
# module never imports the model code; tests/core/test_estimate.py checks that the two agree.
SCRATCH_SIZES: dict[str, tuple[int, int]] = {
    "micro": (2, 64),
    "tiny": (12, 768),
    "medium": (24, 1024),
    "large": (32, 1600),
    "xlarge": (36, 1792),
}


def scratch_arch(architecture: str, size: str, vocab: int, context: int) -> Arch:
    """The from-scratch model of a preset's [model.scratch], as core.models.scratch.scratch_config builds it."""
    layers, hidden = SCRATCH_SIZES[size]
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
    cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(Path.home(), ".cache", "huggingface"), "hub"
    )
    snaps = Path(cache) / ("models--" + model_id.replace("/", "--")) / "snapshots"
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


# ---------------------------------------------------------------------------------------------
# Estimate
# ---------------------------------------------------------------------------------------------


class Component(NamedTuple):
    name: str
    bytes: int
    note: str


@dataclass
class Estimate:
    """A preset's training-memory estimate on one device."""

    model: str
    arch: Arch
    device: str  # cuda | cpu | mps | xla
    adapter: str  # lora | qlora | full
    rows: int  # rows per micro batch
    seq: int  # padded sequence length per row
    total_params: int
    trainable_params: int
    components: list[Component] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    activations_checkpointed: int = 0  # activation bytes with gradient checkpointing
    activations_full: int = 0  # … and without
    gradient_checkpointing: bool = False

    @property
    def tokens(self) -> int:
        return self.rows * self.seq

    @property
    def total(self) -> int:
        return sum(c.bytes for c in self.components)

    def component(self, name: str) -> int:
        """Bytes of the component whose name starts with `name` (0 when absent)."""
        return sum(c.bytes for c in self.components if c.name.startswith(name))

    def total_with_checkpointing(self, on: bool) -> int:
        """The total if gradient checkpointing were `on` (activations and the slack that scales with them)."""
        if on == self.gradient_checkpointing:
            return self.total
        now = self.activations_checkpointed if self.gradient_checkpointing else self.activations_full
        other = self.activations_checkpointed if on else self.activations_full
        slack = _slack_fraction(self.device)
        return self.total + int((other - now) * (1 + slack))


_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}

# Quantization constants (QLoRA paper, Dettmers et al. 2023, §3): NF4 blocks of 64 weights with an
# fp32 absmax = 32/64 = 0.5 bits/param; double quantization stores the absmax as 8-bit in blocks of
# 256 with an fp32 second-level constant: 8/64 + 32/(64·256) ≈ 0.127 bits/param.
NF4_CONST_BYTES_DQ = (8 / 64 + 32 / (64 * 256)) / 8
NF4_CONST_BYTES = (32 / 64) / 8

CUDA_CONTEXT = int(0.5 * GiB)
CPU_PROCESS = int(0.45 * GiB)  # Python + torch + transformers + peft, measured 0.38 GiB after imports
MPS_PROCESS = int(0.75 * GiB)
XLA_RUNTIME = int(0.5 * GiB)
LOGIT_BYTES = 12  # per logit element at the backward's start, see _logits()


def _slack_fraction(device: str) -> float:
    """Allocator slack as a fraction of activations + logits (assumption, see docs/memory.md)."""
    return {"cpu": 0.75, "cuda": 0.10}.get(device, 0.10)


def guess_device(preference: str = "auto") -> str:
    """The device tuner would pick, guessed without torch: cuda if nvidia-smi exists, mps on Apple silicon."""
    if preference != "auto":
        return preference
    if shutil.which("nvidia-smi"):
        return "cuda"
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "mps"
    if os.environ.get("PJRT_DEVICE"):
        return "xla"
    return "cpu"


def _weights_dtype(preset: Preset, device: str) -> str:
    """core.device.resolve_dtype without torch: auto is bf16 on CUDA (assumes Ampere+) and XLA, else fp32."""
    if preset.model.dtype != "auto":
        return preset.model.dtype
    return "bfloat16" if device in ("cuda", "xla") else "float32"


def _micro_batch_shape(preset: Preset, context: int | None) -> tuple[int, int]:
    """(rows, seq) of the largest micro batch core.train.batches can build for this preset."""
    t = preset.train
    seq = min(t.max_seq_len, context) if context else t.max_seq_len
    budget = t.max_tokens_per_batch or t.micro_batch_size * seq
    if t.batching == "pad_to_max":
        return max(1, min(t.micro_batch_size, budget // seq)), seq
    # padding_free / packing flatten the rows into one sequence, but each row keeps its own
    # attention span (≤ seq), so for memory they count as tokens // seq rows of seq tokens.
    tokens = min(t.micro_batch_size * seq, budget)
    seq = min(seq, tokens)
    return max(1, tokens // seq), seq


def _matches(lin: Linear, target: str) -> bool:
    """PEFT's rule: a target matches a module whose qualified name equals it or ends with '.' + it."""
    return lin.leaf == target or lin.path == target or lin.path.endswith("." + target)


def lora_targets(arch: Arch, targets: list[str] | str) -> tuple[list[Linear], list[str]]:
    """(targeted linears of one block, target names that match nothing)."""
    if targets == "all-linear":
        return arch.linears(), []
    hit = [lin for lin in arch.linears() if any(_matches(lin, t) for t in targets)]
    unknown = [t for t in targets if not any(_matches(lin, t) for lin in arch.linears())]
    return hit, unknown


def lora_params(arch: Arch, r: int, targets: list[str] | str) -> int:
    """r × (in + out) per targeted module per layer (A is r×in, B is out×r)."""
    hit, _ = lora_targets(arch, targets)
    return arch.layers * sum(r * (lin.inp + lin.out) for lin in hit)


def layer_activation_bytes(
    arch: Arch,
    tokens: int,
    seq: int,
    *,
    act: int,
    mask: int,
    trained: list[Linear] | None,
    lora_dropout: float,
    lora_r: int,
    eager_attention: bool,
) -> int:
    """Bytes one block keeps for backward for `tokens` tokens (rows × seq).

    Korthikanti et al. count 34·s·b·h bytes (16-bit) + 5·a·s²·b for a GPT block under full
    training; this is the same tensor-by-tensor accounting, generalised to GQA, a gated MLP of
    any width, LoRA (frozen linears do not keep their input; each LoRA module keeps its dropout
    output + mask) and fused attention (SDPA/flash keep q, k, v, out — no s² score matrix).
    `trained` None means full fine-tuning (every linear keeps its input).
    """
    h, q, kv, i = arch.hidden, arch.q_dim, arch.kv_dim, arch.intermediate
    elems = 2 * h  # the two norms' inputs
    elems += 2 * q + 2 * kv  # attention: q, k, v and the output (SDPA saves them; GQA not expanded)
    elems += arch.mlp_act_tensors * i  # SiLU input + output + up_proj output | GELU input(s)
    mask_bytes = 0
    if arch.resid_dropout:
        mask_bytes += 2 * h * mask  # dropout after attention and after the MLP
    group_size = {"attn_in": h, "o_in": q, "mlp_in": h, "down_in": i}
    if trained is None or lora_dropout == 0:
        groups = {lin.group for lin in (arch.linears() if trained is None else trained)}
        elems += sum(group_size[g] for g in groups)  # one saved input per distinct input tensor
    else:
        for lin in trained:  # each LoRA module runs its own dropout on its input
            elems += lin.inp
            mask_bytes += lin.inp * mask
    if trained is not None:
        elems += lora_r * len(trained)  # lora_A outputs
    total = tokens * (elems * act + mask_bytes)
    if eager_attention:  # the seq × seq probabilities per head: fp32 softmax output (+ its cast, + dropout)
        per = 4 + (act if act < 4 else 0) + ((act + mask) if arch.attn_dropout else 0)
        total += tokens * arch.heads * seq * per
    return total


def _logits(arch: Arch, tokens: int) -> int:
    # The logits are the largest single tensors of a small model: tokens × vocab. transformers'
    # ForCausalLMLoss upcasts them to fp32; log_softmax keeps its fp32 output for backward, and
    # backward adds the fp32 gradient of that output and of the logits: 3 × 4 bytes per element
    # at the peak (the model-dtype logits are freed once the Trainer has the loss).
    # SmolLM2 (vocab 49K) at 1024 tokens: 0.56 GiB; Qwen2.5 (152K) at 512 tokens: 0.87 GiB.
    return tokens * arch.vocab * LOGIT_BYTES


def _optimizer(
    name: str,
    arch: Arch,
    trainable: int,
    matrices: list[tuple[int, int, int]],
    param_bytes: int,
) -> tuple[int, str]:
    """(bytes, note) of the optimizer's states for `trainable` params (matrices: (rows, cols, count))."""
    if name in ("adamw_torch", "adamw_torch_fused"):
        per = 2 * param_bytes
        kind = (
            "fp32" if param_bytes == 4 else "bf16/fp16 (states follow the param dtype, no fp32 master copy)"
        )
        return trainable * per, f"AdamW m + v: {per} B/param, {kind}"
    if name in ("adamw_bnb_8bit", "paged_adamw_8bit"):
        # 8-bit m and v (1 B each) + an fp32 absmax per 256-value block for each
        per = 2 + 2 * 4 / 256
        paged = "; paged: evicted to CPU RAM under pressure" if name.startswith("paged") else ""
        return int(trainable * per), f"8-bit AdamW (bitsandbytes) m + v: ~2 B/param{paged}"
    if name == "adafactor":
        # factored second moment: rows + cols fp32 per matrix, no first moment (HF default beta1=None)
        factored = sum((r + c) * n for r, c, n in matrices)
        in_matrices = sum(r * c * n for r, c, n in matrices)
        vectors = max(0, trainable - in_matrices)
        return 4 * (factored + vectors), "Adafactor: fp32 row + column statistics per matrix (factored)"
    if name == "sgd":
        return 0, "SGD without momentum keeps no state"
    return trainable * 8, f"{name}: assumed 8 B/param"


def estimate_or_reason(preset: Preset, device: str | None = None) -> Estimate | str:
    """The memory estimate of `preset` on `device` (default: the preset's, "auto" guessed), or why there is none."""
    try:
        arch, context = resolve_arch(preset)
    except (ValueError, KeyError, TypeError) as e:
        reason = str(e) if isinstance(e, ValueError) else f"incomplete model config ({e})"
        return f"no memory estimate: {reason}"
    dev = guess_device(device or preset.model.device)
    t, q, lo = preset.train, preset.quant, preset.lora
    wdtype = _weights_dtype(preset, dev)
    wbytes = _DTYPE_BYTES[wdtype]
    full = t.adapter == "full"
    adapter = "full" if full else ("qlora" if q.bits == 4 else "lora")
    rows, seq = _micro_batch_shape(preset, context)
    tokens = rows * seq
    comps: list[Component] = []
    notes: list[str] = []
    warnings: list[str] = []
    gib = lambda n: f"{n / GiB:.2f} GiB"  # noqa: E731

    # --- base weights -------------------------------------------------------------------------
    n_lin, n_other = arch.linear_params(), arch.other_params()
    if q.bits:
        if q.bits == 4:
            const = NF4_CONST_BYTES_DQ if q.double_quant else NF4_CONST_BYTES
            comps.append(
                Component(
                    f"base Linear weights ({q.quant_type.upper()})",
                    n_lin // 2,
                    f"{n_lin / 1e9:.2f}B block Linear params × 0.5 B",
                )
            )
            comps.append(
                Component(
                    "quantization constants",
                    int(n_lin * const),
                    f"absmax per 64 weights: {const * 8:.3f} bits/param "
                    + ("(double quant)" if q.double_quant else "(fp32, no double quant)"),
                )
            )
        else:  # LLM.int8: int8 weights + one fp32 scale per output row
            rows_out = arch.layers * sum(lin.out for lin in arch.linears())
            comps.append(
                Component(
                    "base Linear weights (int8)",
                    n_lin + 4 * rows_out,
                    f"{n_lin / 1e9:.2f}B params × 1 B + fp32 row scales",
                )
            )
        comps.append(
            Component(
                f"embeddings, lm_head, norms ({wdtype})",
                n_other * wbytes,
                f"{n_other / 1e6:.0f}M params not quantized, kept in {wdtype} (frozen)",
            )
        )
        notes.append(
            "bitsandbytes quantizes the blocks' Linear layers only; embeddings, lm_head, norms and biases stay "
            f"unquantized, in {wdtype} (core.models.build.prepare_kbit does not upcast them to fp32)"
        )
    else:
        emb = arch.embedding_params()
        comps.append(
            Component(
                f"base weights ({wdtype})",
                arch.total_params() * wbytes,
                f"{arch.total_params() / 1e9:.2f}B params × {wbytes} B "
                f"(embeddings{'' if arch.tied else ' + lm_head'} {emb / 1e6:.0f}M)",
            )
        )

    # --- trainable params, gradients, optimizer -----------------------------------------------
    trained: list[Linear] | None
    if full:
        trainable = arch.total_params()
        pbytes = wbytes
        trained = None
        mats = [(lin.out, lin.inp, arch.layers) for lin in arch.linears()] + [
            (arch.vocab, arch.hidden, 1 if arch.tied else 2)
        ]
        if wbytes == 2:
            notes.append(
                f"full fine-tuning in {wdtype}: weights, gradients and AdamW states all {wdtype} "
                "(tuner loads the weights in that dtype; the Trainer's bf16/fp16 flag autocasts, no fp32 master copy)"
            )
    else:
        trained, unknown = lora_targets(arch, lo.target_modules)
        if unknown:
            warnings.append(
                f"lora.target_modules {unknown} match no linear layer of this {arch.family} model: "
                f"training will refuse it (linear layers: {', '.join(lin.leaf for lin in arch.linears())})"
            )
        trainable = lora_params(arch, lo.r, lo.target_modules)
        pbytes = 4  # peft autocast_adapter_dtype: LoRA weights are fp32 even on a bf16/4-bit base
        mats = [(lo.r, lin.inp, arch.layers) for lin in trained] + [
            (lin.out, lo.r, arch.layers) for lin in trained
        ]
        if lo.target_modules == "all-linear" or len(trained) == len(arch.linears()):
            targets = "all linear layers"
        else:
            targets = "/".join(dict.fromkeys(lin.leaf for lin in trained))
        comps.append(
            Component(
                "LoRA adapter (fp32)",
                trainable * pbytes,
                f"{trainable / 1e6:.2f}M params = r {lo.r} × (in + out) × {len(trained)} modules × {arch.layers} layers ({targets})",
            )
        )
    comps.append(Component("gradients", trainable * pbytes, f"{trainable / 1e6:.1f}M trainable × {pbytes} B"))
    opt_bytes, opt_note = _optimizer(t.optimizer, arch, trainable, mats, pbytes)
    comps.append(Component(f"optimizer ({t.optimizer})", opt_bytes, opt_note))

    # --- activations ----------------------------------------------------------------------------
    # Activations are half precision when the weights are (autocast on a GPU, plain bf16 matmuls on
    # the CPU; embeddings are not upcast for QLoRA either and Linear4bit casts its output back to
    # its input's dtype), and on MPS, which trains fp32 weights under half-precision autocast.
    half = wbytes == 2 or (dev == "mps" and preset.model.dtype != "float32")
    act = 2 if half else 4
    resid = act
    mask = act if dev == "cpu" else 1  # CPU dropout keeps a full-size float mask, CUDA a bool one
    # SDPA keeps no seq² matrix on CUDA (flash / memory-efficient kernels, dropout included); with
    # attention dropout elsewhere it falls back to the math path, which does (measured on CPU).
    # On XLA tuner loads models with eager attention (core.models.build: no host sync per forward).
    eager = (
        preset.model.attn_implementation == "eager"
        or (dev == "xla" and not preset.model.attn_implementation)
        or (arch.attn_dropout > 0 and dev != "cuda")
    )
    per_layer = layer_activation_bytes(
        arch,
        tokens,
        seq,
        act=act,
        mask=mask,
        trained=trained,
        lora_dropout=0.0 if full else lo.dropout,
        lora_r=lo.r,
        eager_attention=eager,
    )
    extra = tokens * arch.hidden * act  # final norm input
    act_full = arch.layers * per_layer + extra
    # Checkpointing keeps each block's input; backward recomputes one block at a time and holds
    # its full activations plus their gradients (≈ one more block's worth) while it runs.
    act_ckpt = arch.layers * tokens * arch.hidden * resid + 2 * per_layer + extra
    gc = t.gradient_checkpointing
    activations = act_ckpt if gc else act_full
    shape = f"{rows} × {seq} tokens"
    if gc:
        act_note = f"{shape}, checkpointed (without: {gib(act_full)})"
    else:
        act_note = f"{shape}, all {arch.layers} layers kept (with checkpointing: {gib(act_ckpt)})"
    comps.append(Component("activations", activations, act_note))
    logits = _logits(arch, tokens)
    comps.append(
        Component(
            "logits + loss",
            logits,
            f"{tokens} tokens × vocab {arch.vocab} × {LOGIT_BYTES} B (fp32 log-softmax + grads)",
        )
    )

    # --- overhead -------------------------------------------------------------------------------
    transient = activations + logits
    if dev == "cuda":
        over = CUDA_CONTEXT + int(_slack_fraction(dev) * transient)
        comps.append(
            Component(
                "CUDA context + allocator",
                over,
                "assumed: ~0.5 GiB context/kernels + 10% caching-allocator slack",
            )
        )
    elif dev == "cpu":
        comps.append(
            Component(
                "CPU heap slack",
                int(_slack_fraction(dev) * transient),
                "measured: glibc keeps freed activation buffers (+60–160% of activations + logits)",
            )
        )
        comps.append(
            Component("Python process", CPU_PROCESS, "torch + transformers + peft loaded (measured 0.38 GiB)")
        )
    elif dev == "mps":
        comps.append(
            Component(
                "process + Metal",
                MPS_PROCESS + int(0.1 * transient),
                "assumed: unified memory, ~0.75 GiB + 10%",
            )
        )
    else:
        comps.append(
            Component("XLA runtime", XLA_RUNTIME + int(0.1 * transient), "assumed: ~0.5 GiB + 10% per core")
        )

    notes.append(
        f"largest micro batch: {shape} (train.micro_batch_size {t.micro_batch_size}, max_seq_len {t.max_seq_len}, "
        f"max_tokens_per_batch {t.max_tokens_per_batch}, batching {t.batching})"
    )
    if not eager:
        notes.append(
            'SDPA / flash attention: no seq² score matrix is kept (set model.attn_implementation = "eager" to count it)'
        )
    elif dev == "xla" and not preset.model.attn_implementation:
        notes.append("eager attention on XLA (tuner's default there): seq² probabilities per head are kept")
    elif preset.model.attn_implementation != "eager":
        notes.append(
            f"attention dropout {arch.attn_dropout:g} on {dev}: SDPA's math path keeps seq² probabilities per head"
        )
    if preset.model.dtype == "auto" and not q.bits:
        notes.append(f"dtype auto → {wdtype} on {dev}")
    if preset.model.device == "auto":
        notes.append(f"device auto → {dev} (guessed without torch)")
    if dev == "xla":
        notes.append("XLA: per-core memory; the compiler may fuse or rematerialise activations")
    return Estimate(
        model=preset.model.id
        if preset.model.scratch is None
        else f"scratch {preset.model.scratch.architecture}-{preset.model.scratch.size}",
        arch=arch,
        device=dev,
        adapter=adapter,
        rows=rows,
        seq=seq,
        total_params=arch.total_params(),
        trainable_params=trainable,
        components=comps,
        assumptions=notes,
        warnings=warnings,
        activations_checkpointed=act_ckpt,
        activations_full=act_full,
        gradient_checkpointing=gc,
    )


def estimate(preset: Preset, device: str | None = None) -> Estimate | None:
    """The estimate, or None when the model's shape cannot be known offline (see estimate_or_reason)."""
    out = estimate_or_reason(preset, device)
    return out if isinstance(out, Estimate) else None


# ---------------------------------------------------------------------------------------------
# Device memory, without torch
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _nvidia_smi() -> tuple[str, int] | None:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=2.0,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    gpus = [line.rsplit(",", 1) for line in out.strip().splitlines() if "," in line]
    try:
        name, mib = gpus[0][0].strip(), int(float(gpus[0][1]))
    except (IndexError, ValueError):
        return None
    suffix = f" (GPU 0 of {len(gpus)})" if len(gpus) > 1 else ""
    return name + suffix, mib * (1 << 20)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


@lru_cache(maxsize=1)
def detected_kind() -> str:
    """cuda | mps | cpu: which memory detected_memory() reports."""
    if _nvidia_smi() is not None:
        return "cuda"
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "mps"
    return "cpu"


def detected_memory() -> tuple[str, int]:
    """(device name, bytes) of this machine's training memory: GPU 0 via nvidia-smi, else total RAM."""
    gpu = _nvidia_smi()
    if gpu is not None:
        return gpu
    import psutil

    total = psutil.virtual_memory().total
    if detected_kind() == "mps":
        return f"Apple {platform.machine()} (unified memory)", total
    return f"{_cpu_name()} (RAM)", total


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def fit_verdict(total: int, available: int) -> tuple[str, str]:
    """(style, words) comparing an estimate with a device's memory."""
    share = total / available if available else math.inf
    if share <= 0.85:
        return "green", f"fits ({share:.0%} of {available / GiB:.1f} GiB)"
    if share <= 1.0:
        return "yellow", f"tight ({share:.0%} of {available / GiB:.1f} GiB): expect OOM risk"
    return "red", f"does not fit ({share:.0%} of {available / GiB:.1f} GiB)"


def fit_here(est: Estimate) -> tuple[str, str] | None:
    """fit_verdict() against this machine's memory, or None when the estimate is for another device kind."""
    kind = detected_kind()
    if kind != est.device and not (est.device == "cpu" and kind == "mps"):
        return None
    return fit_verdict(est.total, detected_memory()[1])


def render_estimate(console: Any, preset: Preset) -> None:
    """Print the estimate as a table (component, GiB, note), the total and whether it fits here."""
    from rich.markup import escape
    from rich.table import Table

    est = estimate_or_reason(preset)
    console.print()
    if isinstance(est, str):
        console.print(f"[bold]memory estimate[/]: [yellow]{escape(est)}[/]")
        return
    console.print(
        f"[bold]memory estimate[/] — {escape(est.model)} ({escape(est.arch.describe())}), "
        f"{est.adapter} on {est.device}, {est.rows} × {est.seq} tokens per micro batch"
    )
    table = Table("component", "GiB", "note", box=None, pad_edge=False)
    for c in est.components:
        table.add_row(escape(c.name), f"{c.bytes / GiB:.2f}", escape(c.note))
    table.add_row("[bold]total[/]", f"[bold]{est.total / GiB:.2f}[/]", "")
    console.print(table)
    other = est.total_with_checkpointing(not est.gradient_checkpointing)
    if est.gradient_checkpointing:
        console.print(f"gradient checkpointing is on; without it: {other / GiB:.2f} GiB")
    else:
        console.print(
            f"gradient checkpointing is off; with it (train.gradient_checkpointing = true): {other / GiB:.2f} GiB"
        )
    name, mem = detected_memory()
    verdict = fit_here(est)
    if verdict is not None:
        style, words = verdict
        console.print(f"this machine: {escape(name)} — [{style}]{words}[/]")
    else:
        console.print(
            f"this machine: {escape(name)}, {mem / GiB:.1f} GiB — the estimate is for {est.device}, "
            "so no fit check here"
        )
    for w in est.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    for a in est.assumptions:
        console.print(f"[dim]· {escape(a)}[/]")
