"""The memory formulas, one per component: LoRA parameters, quantization constants, activations per layer, logits, optimizer states.

Pure functions of an Arch and a few numbers; core.estimate.memory adds them up for a preset.
"""

from __future__ import annotations

from core.estimate.shapes import Arch, Linear

# Quantization constants (QLoRA paper, Dettmers et al. 2023, §3): NF4 blocks of 64 weights with an
# fp32 absmax = 32/64 = 0.5 bits/param; double quantization stores the absmax as 8-bit in blocks of
# 256 with an fp32 second-level constant: 8/64 + 32/(64·256) ≈ 0.127 bits/param.
NF4_CONST_BYTES_DQ = (8 / 64 + 32 / (64 * 256)) / 8
NF4_CONST_BYTES = (32 / 64) / 8

LOGIT_BYTES = 12  # per logit element at the backward's start, see logits_bytes()


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


def logits_bytes(arch: Arch, tokens: int) -> int:
    """The logits and the loss's fp32 tensors at the backward's start: tokens × vocab × 12 B."""
    # The logits are the largest single tensors of a small model: tokens × vocab. transformers'
    # ForCausalLMLoss upcasts them to fp32; log_softmax keeps its fp32 output for backward, and
    # backward adds the fp32 gradient of that output and of the logits: 3 × 4 bytes per element
    # at the peak (the model-dtype logits are freed once the Trainer has the loss).
    # SmolLM2 (vocab 49K) at 1024 tokens: 0.56 GiB; Qwen2.5 (152K) at 512 tokens: 0.87 GiB.
    return tokens * arch.vocab * LOGIT_BYTES


def optimizer_bytes(
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
        per_8bit = 2 + 2 * 4 / 256
        paged = "; paged: evicted to CPU RAM under pressure" if name.startswith("paged") else ""
        return int(trainable * per_8bit), f"8-bit AdamW (bitsandbytes) m + v: ~2 B/param{paged}"
    if name == "adafactor":
        # factored second moment: rows + cols fp32 per matrix, no first moment (HF default beta1=None)
        factored = sum((r + c) * n for r, c, n in matrices)
        in_matrices = sum(r * c * n for r, c, n in matrices)
        vectors = max(0, trainable - in_matrices)
        return 4 * (factored + vectors), "Adafactor: fp32 row + column statistics per matrix (factored)"
    if name == "sgd":
        return 0, "SGD without momentum keeps no state"
    return trainable * 8, f"{name}: assumed 8 B/param"
