"""The estimate itself: every component of a preset's training memory on one device, added up, with notes.

Each component is computed separately and shown with a note (docs/memory.md has the formulas and
a CPU validation against measured peaks): base weights by dtype / quantization, LoRA parameters
with their gradients and optimizer states, activations kept for backward (with and without
gradient checkpointing), the logits and the loss, and framework overhead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from core.estimate.components import (
    LOGIT_BYTES,
    NF4_CONST_BYTES,
    NF4_CONST_BYTES_DQ,
    layer_activation_bytes,
    logits_bytes,
    lora_params,
    lora_targets,
    optimizer_bytes,
)
from core.estimate.machine import guess_device
from core.estimate.shapes import Arch, Linear, resolve_arch
from core.units import GiB

if TYPE_CHECKING:  # pragma: no cover
    from core.config.schema import Preset


class Component(NamedTuple):
    """One line of the estimate: a name, its bytes, and how they were counted."""

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
        """Tokens per micro batch (rows × seq)."""
        return self.rows * self.seq

    @property
    def total(self) -> int:
        """Bytes of every component together."""
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

CUDA_CONTEXT = int(0.5 * GiB)
CPU_PROCESS = int(0.45 * GiB)  # Python + torch + transformers + peft, measured 0.38 GiB after imports
MPS_PROCESS = int(0.75 * GiB)
XLA_RUNTIME = int(0.5 * GiB)


def _slack_fraction(device: str) -> float:
    """Allocator slack as a fraction of activations + logits (assumption, see docs/memory.md)."""
    return {"cpu": 0.75, "cuda": 0.10}.get(device, 0.10)


def _gib(n: int) -> str:
    return f"{n / GiB:.2f} GiB"


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
    opt_bytes, opt_note = optimizer_bytes(t.optimizer, arch, trainable, mats, pbytes)
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
        act_note = f"{shape}, checkpointed (without: {_gib(act_full)})"
    else:
        act_note = f"{shape}, all {arch.layers} layers kept (with checkpointing: {_gib(act_ckpt)})"
    comps.append(Component("activations", activations, act_note))
    logits = logits_bytes(arch, tokens)
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
