"""Merge a run's adapter into its base and save a standalone transformers model folder.

The base is loaded unquantized, on the CPU, in the dtype the run computed in (so the reference the
export is checked against is the run itself); PEFT's merge_and_unload adds the LoRA delta to each
weight once, and the merged model is cast to the export's dtype (default: the run's) and saved. A QLoRA run is merged into the 16-bit base, never into its 4-bit weights: rounding the merged
weights back to 4 bits loses most of what the adapter learned (PEFT #2321).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data.formatting import Style
from core.errors import TunerError
from core.export.source import ExportSource, first_line, load_tokenizer
from core.export.stop_tokens import apply_stop_tokens, set_generation_stop, trained_stop_ids
from core.export.verify import Reference, Verification, reference_outputs, verify_folder

DTYPES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}


@dataclass
class MergeResult:
    """What the merge wrote and what the manifest says about it."""

    dtype: str
    style: Style
    stop_ids: list[int]
    stop_tokens: list[str]
    eos_changed_from: str | None
    note: str  # how the weights were merged, one sentence
    verification: Verification | None


def load_run_model(source: ExportSource, dtype: Any) -> Any:
    """The run's model on the CPU in `dtype`: base + adapter (unmerged), or the whole fine-tuned model."""
    from transformers import AutoModelForCausalLM

    trust = source.preset.model.trust_remote_code
    if source.full:
        try:
            return AutoModelForCausalLM.from_pretrained(
                str(source.weights), dtype=dtype, trust_remote_code=trust
            )
        except (OSError, ValueError) as e:
            raise TunerError(
                f"cannot load the model in {source.weights}: {first_line(e)}", kind="model"
            ) from None
    from peft import PeftModel

    from core.models.loader import from_pretrained, resolve_model

    try:
        base = from_pretrained(
            AutoModelForCausalLM, resolve_model(source.preset.model), dtype=dtype, trust_remote_code=trust
        )
    except (OSError, ValueError) as e:
        raise TunerError(
            f"cannot load the base model {source.preset.model.id!r}: {first_line(e)}",
            kind="model",
            hint="check [model] id in the run's preset.toml",
        ) from None
    try:
        return PeftModel.from_pretrained(base, str(source.weights))
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise TunerError(
            f"cannot load the adapter in {source.weights}: {first_line(e)}",
            kind="model",
            hint="the adapter files are incomplete or were made for another base model",
        ) from None


def merge_note(source: ExportSource, dtype: str) -> str:
    """One sentence on how the exported weights were made (the manifest and the CLI print it)."""
    if source.full:
        return f"full fine-tune saved in {dtype}" + (
            f" (trained in {source.run_dtype})" if dtype != source.run_dtype else ""
        )
    note = f"adapter merged into the unquantized base in {source.run_dtype}"
    if dtype != source.run_dtype:
        note += f", saved in {dtype}"
    if source.quantized:
        note += (
            f"; the run trained on a {source.quantized} base, so answers can differ slightly from "
            "`tuner chat` (compare with `tuner chat --no-quant`); never merged into 4-bit weights (PEFT #2321)"
        )
    return note


def merge_to_folder(source: ExportSource, out: Path, dtype: str, *, verify: bool = True) -> MergeResult:
    """Write the merged model (safetensors, config, generation config, tokenizer, chat template) into `out`."""
    import torch

    from core.data.formatting import resolve_style

    preset = source.preset
    tokenizer = load_tokenizer(source)
    style = resolve_style(tokenizer, preset.data.prompt_format)
    system_prompt = preset.data.system_prompt
    stop_ids = trained_stop_ids(tokenizer, style, system_prompt)
    old_eos = apply_stop_tokens(tokenizer, stop_ids)
    # Loaded as the run computed (the reference is the run itself), cast to the export's dtype after the merge.
    model = load_run_model(source, getattr(torch, source.run_dtype))
    model.eval()
    prompts = list(preset.eval.sample_prompts)
    max_new = preset.eval.max_new_tokens
    ref: Reference | None = None
    if verify and prompts:
        ref = reference_outputs(model, tokenizer, style, system_prompt, prompts, max_new)
    if not source.full:
        model = model.merge_and_unload()
    if dtype != source.run_dtype:
        model = model.to(getattr(torch, dtype))
    set_generation_stop(model, tokenizer, stop_ids)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    del model
    gc.collect()  # the reload below must not hold two copies
    verification = None
    if ref is not None:
        verification = verify_folder(
            out,
            ref,
            prompt_format=preset.data.prompt_format,
            run_style=style,
            system_prompt=system_prompt,
            max_new_tokens=max_new,
            dtype=dtype,
            trust_remote_code=preset.model.trust_remote_code,
        )
    return MergeResult(
        dtype,
        style,
        stop_ids,
        [tokenizer.convert_ids_to_tokens(i) for i in stop_ids],
        old_eos,
        merge_note(source, dtype),
        verification,
    )
