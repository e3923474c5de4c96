"""Build the model to train: load (optionally 4/8-bit), then attach a LoRA adapter or unfreeze all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.config.schema import Preset
from core.errors import TunerError
from core.models.loader import ModelSource, from_pretrained, resolve_model


@dataclass
class ModelInfo:
    """What was loaded, for events and provenance."""

    source: ModelSource
    trainable_params: int
    total_params: int
    adapter: str  # "lora" | "qlora" | "full"


def linear_module_names(model: Any) -> list[str]:
    """Distinct leaf names of the model's linear layers (what LoRA can target), lm_head excluded."""
    import torch

    names = set()
    for full, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or type(module).__name__ in (
            "Linear4bit",
            "Linear8bitLt",
            "Conv1D",
        ):
            leaf = full.rsplit(".", 1)[-1]
            if leaf != "lm_head":
                names.add(leaf)
    return sorted(names)


def quantization_config(preset: Preset, compute_dtype: Any = None) -> Any:
    """bitsandbytes settings for quant.bits = 4 / 8 (None when unquantized).

    quant.compute_dtype = "auto" computes in the run's own dtype (`compute_dtype`, from
    core.device.precision_policy): bf16 on Ampere and newer, fp16 on a T4/V100, fp32 on the CPU.
    """
    if not preset.quant.bits:
        return None
    import torch
    from transformers import BitsAndBytesConfig

    if preset.quant.bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    if preset.quant.compute_dtype != "auto":
        compute_dtype = getattr(torch, preset.quant.compute_dtype)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=preset.quant.quant_type,
        bnb_4bit_use_double_quant=preset.quant.double_quant,
        bnb_4bit_compute_dtype=compute_dtype or torch.float32,
    )


def load_base_model(
    preset: Preset,
    device: str,
    dtype: Any,
    device_map: Any = None,
    tokenizer: Any = None,
    compute_dtype: Any = None,
) -> tuple[Any, ModelSource]:
    """Load the base causal LM (or build it from a config for from-scratch presets)."""
    from transformers import AutoModelForCausalLM

    src = resolve_model(preset.model)
    if src.kind == "scratch":  # a later phase is not: core.train.init_from made model.id its weights
        from core.models.scratch import build_scratch_model

        return build_scratch_model(preset, tokenizer).to(dtype), src
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": preset.model.trust_remote_code}
    if preset.model.attn_implementation:
        kwargs["attn_implementation"] = preset.model.attn_implementation
    elif device == "xla":
        # transformers' SDPA mask path reads the mask's (or position_ids') values on the host to
        # decide whether it can skip the mask: a device→host sync in every forward on XLA. The
        # eager path always builds the mask with tensor ops (measured: 22 syncs in 8 steps → 0).
        kwargs["attn_implementation"] = "eager"
    qcfg = quantization_config(preset, compute_dtype or dtype)
    if qcfg is not None:
        kwargs["quantization_config"] = qcfg
        kwargs["device_map"] = device_map or {"": "cpu" if device == "cpu" else 0}
    model = from_pretrained(AutoModelForCausalLM, src, **kwargs)
    return model, src


def attach_adapter(model: Any, preset: Preset) -> Any:
    """LoRA through PEFT (with k-bit preparation when quantized), or full fine-tuning."""
    if preset.train.adapter == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    targets = preset.lora.target_modules
    if targets != "all-linear":
        available = linear_module_names(model)
        unknown = [t for t in targets if t not in available]
        if unknown:
            raise TunerError(
                f"lora.target_modules {unknown} not found in this model",
                kind="config",
                hint=f"its linear modules are: {', '.join(available)}",
            )
    if preset.quant.bits:
        prepare_kbit(model)
    cfg = LoraConfig(
        r=preset.lora.r,
        lora_alpha=preset.lora.alpha,  # type: ignore[arg-type]  # PEFT annotates int; it only divides by it
        lora_dropout=preset.lora.dropout,
        target_modules=targets,
        bias=preset.lora.bias,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, cfg)


def load_adapter_weights(model: Any, folder: Any) -> None:
    """init_mode = "continue": the earlier adapter's weights into this run's (identical) fresh adapter."""
    from peft import set_peft_model_state_dict
    from peft.utils import load_peft_weights

    result = set_peft_model_state_dict(model, load_peft_weights(str(folder)))
    unused = [k for k in getattr(result, "unexpected_keys", []) if "lora_" in k]
    if unused:
        raise TunerError(
            f"the adapter in {folder} does not fit this model ({len(unused)} weights unused, e.g. {unused[0]})",
            kind="model",
            hint='use model.init_mode = "merge"',
        )


def prepare_kbit(model: Any) -> None:
    """Freeze a k-bit base for LoRA, keeping its unquantized weights in the dtype they were loaded in.

    PEFT's prepare_model_for_kbit_training also casts every unquantized weight to fp32: for a 7B
    that is +2.2 GB of embeddings and lm_head, an fp32 residual stream (1.44× the saved activations,
    measured: bench/kbit_upcast.py),
    and under autocast a fresh half-precision copy of the fp32 lm_head in every forward. Those
    weights are frozen and autocast runs their matmuls in half precision anyway, the norms compute
    in fp32 inside the layer, the loss upcasts the logits, and the LoRA weights PEFT adds are fp32:
    nothing trained is held in half precision. (Its other jobs happen elsewhere: the Trainer turns
    gradient checkpointing on and build_model makes the inputs require grads.)
    """
    for param in model.parameters():
        param.requires_grad_(False)


def _xla_gradient_checkpointing(model: Any) -> None:
    """Gradient checkpointing through torch_xla's checkpoint (torch.utils.checkpoint fails on XLA)."""
    import functools

    from torch_xla.utils.checkpoint import checkpoint

    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    func = functools.partial(checkpoint, use_reentrant=True)
    for module in model.modules():
        if hasattr(module, "_gradient_checkpointing_func"):
            module._gradient_checkpointing_func = func


def _keep_cpu_4bit_trainable(model: Any) -> None:
    """Stop bitsandbytes repacking 4-bit weights for CPU inference during evaluation.

    On AVX512-BF16 CPUs, bitsandbytes 0.50 converts a Linear4bit's weights to an inference-only
    layout the first time it runs in eval mode without grad (our step-0 evaluation), and
    training afterwards fails ("a view of a leaf Variable … in-place"). Training needs the
    standard layout throughout.
    """
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def param_counts(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts; 4-bit packed weights counted at their logical size."""
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()
        if type(p).__name__ == "Params4bit":
            n *= 2  # two 4-bit values per stored byte
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def build_model(
    preset: Preset,
    device: str,
    dtype: Any,
    device_map: Any = None,
    tokenizer: Any = None,
    xla_spmd: bool = False,
    compute_dtype: Any = None,
    init_adapter: Any = None,
) -> tuple[Any, ModelInfo]:
    """Base model + adapter, ready for the Trainer (under XLA SPMD, its FSDPv2 wrapper checkpoints the layers).

    `init_adapter`: an earlier run's adapter folder whose weights the new adapter starts from
    (`model.init_mode = "continue"`).
    """
    model, src = load_base_model(preset, device, dtype, device_map, tokenizer, compute_dtype)
    # No KV cache while training: it is useless there, and with a cache transformers ignores
    # position_ids-based packing (rows would attend across their boundaries).
    model.config.use_cache = False
    if preset.quant.bits and device == "cpu":
        _keep_cpu_4bit_trainable(model)
    model = attach_adapter(model, preset)
    if init_adapter is not None:
        load_adapter_weights(model, init_adapter)
    if preset.train.gradient_checkpointing and hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()  # LoRA + checkpointing needs grads flowing from the embeddings
    if preset.train.gradient_checkpointing and device == "xla" and not xla_spmd:
        _xla_gradient_checkpointing(model)
    trainable, total = param_counts(model)
    adapter = "full" if preset.train.adapter == "full" else ("qlora" if preset.quant.bits == 4 else "lora")
    return model, ModelInfo(src, trainable, total, adapter)
