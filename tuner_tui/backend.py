"""The heavy side of the TUI: model loading, token counting, memory estimates.

Everything here is imported and called only inside worker threads, never at start-up:
torch/transformers are imported lazily in the functions. `core.inference` and
`core.estimate` are optional (they may not exist in this checkout yet): missing modules are
reported as a readable reason, and model loading falls back to a small local loader built on
core.models.loader (see `_fallback_load`).
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TunerError

TOKEN_SAMPLE = 20_000  # rows tokenized at most for the length histogram


@dataclass(frozen=True)
class ModelChoice:
    """What the playground can load: a run's adapter (or a checkpoint of it), or a run's base model."""

    label: str
    run_dir: str | None
    base: bool = False
    checkpoint: str | None = None
    preset: str | None = None  # the base model of a preset, when there is no run

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.run_dir, self.base, self.checkpoint, self.preset)


@dataclass
class LoadedModel:
    """The subset of core.inference.Loaded that the playground uses."""

    model: Any
    tokenizer: Any
    style: str
    system_prompt: str | None
    label: str


# One load at a time: two threads importing transformers at once race inside its lazy module
# ("cannot import name 'AutoTokenizer'"), and two loads would double the peak memory anyway.
_LOAD_LOCK = threading.Lock()


def _quiet() -> None:
    """No progress bars or advisory chatter on the terminal the TUI is drawing on."""
    for key, value in (
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(key, value)


def load_model(choice: ModelChoice) -> LoadedModel:
    """Load a model for generation (slow: call from a worker thread; loads are serialized)."""
    _quiet()
    with _LOAD_LOCK:
        return _load_model(choice)


def _load_model(choice: ModelChoice) -> LoadedModel:
    if choice.run_dir is not None:
        try:
            from core.inference import load_for_inference  # type: ignore[import-not-found]
        except ImportError:
            load_for_inference = None
        if load_for_inference is not None:
            loaded = load_for_inference(choice.run_dir, base=choice.base, checkpoint=choice.checkpoint)
            return LoadedModel(
                loaded.model,
                loaded.tokenizer,
                loaded.style,
                loaded.system_prompt,
                getattr(loaded, "label", choice.label),
            )
    return _fallback_load(choice)


def _fallback_load(choice: ModelChoice) -> LoadedModel:
    """Base model (+ LoRA adapter) from a run directory or a preset, with core's model resolution."""
    import torch
    from transformers import AutoModelForCausalLM

    from core.config.loader import load_preset, read_toml, validate_preset
    from core.data.formatting import resolve_style
    from core.models.loader import ModelSource, from_pretrained, load_tokenizer, resolve_model

    if choice.run_dir is not None:
        run_dir = Path(choice.run_dir)
        preset = validate_preset(read_toml(run_dir / "preset.toml"), str(run_dir / "preset.toml"))
    else:
        preset, _ = load_preset(choice.preset or "quickstart")
        run_dir = None
    src = resolve_model(preset.model)
    if src.kind == "scratch":
        raise TunerError("from-scratch presets have no base model to load", kind="model")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    adapter_dir: Path | None = None
    if not choice.base and run_dir is not None:
        adapter_dir = Path(choice.checkpoint) if choice.checkpoint else run_dir / "adapter"
        if not adapter_dir.is_dir():
            raise TunerError(
                f"{adapter_dir} does not exist (the run has not written its adapter yet)",
                kind="model",
                hint="pick a checkpoint or wait for the run to finish",
            )
    tokenizer = load_tokenizer(preset.model)
    if adapter_dir is not None and preset.train.adapter == "full":
        model = from_pretrained(
            AutoModelForCausalLM, ModelSource(str(adapter_dir), "local"), dtype=torch.float32
        )
    else:
        model = from_pretrained(
            AutoModelForCausalLM, src, dtype=torch.float32, trust_remote_code=preset.model.trust_remote_code
        )
        if adapter_dir is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter_dir))
    model.to(device)
    model.eval()
    style = resolve_style(tokenizer, preset.data.prompt_format)
    return LoadedModel(model, tokenizer, style, preset.data.system_prompt, choice.label)


def stream(loaded: LoadedModel, prompt: str, max_new_tokens: int = 128):
    """Text pieces of a greedy answer (core.generate.stream_answer)."""
    from core.generate import stream_answer

    return stream_answer(
        loaded.model,
        loaded.tokenizer,
        prompt,
        style=loaded.style,
        system_prompt=loaded.system_prompt,
        max_new_tokens=max_new_tokens,
    )


def token_lengths(
    preset: Any,
    rows: list[Any],
    progress: Callable[[int, int], None] | None = None,
    limit: int = TOKEN_SAMPLE,
    chunk: int = 1000,
) -> tuple[list[int], int] | None:
    """(prompt + response token counts, rows in the data) with the preset's tokenizer; None without one.

    Counts the same tokens as core.data.preview.token_lengths, but tokenizes in batches and
    samples at most `limit` rows (deterministically) so that large datasets stay quick.
    """
    from core.data.formatting import completion_text, prompt_text, resolve_style
    from core.models.loader import load_tokenizer

    _quiet()
    with _LOAD_LOCK:
        tok = load_tokenizer(preset.model)
    if tok is None:
        return None
    style = resolve_style(tok, preset.data.prompt_format)
    system = preset.data.system_prompt
    sample = rows if len(rows) <= limit else random.Random(0).sample(rows, limit)
    out: list[int] = []
    for start in range(0, len(sample), chunk):
        part = sample[start : start + chunk]
        prompts = [prompt_text(tok, ex.instruction, style, system) for ex in part]
        comps = [completion_text(tok, ex.instruction, ex.command, style, system) for ex in part]
        p_ids = tok(prompts, add_special_tokens=style == "instruction")["input_ids"]
        c_ids = tok(comps, add_special_tokens=False)["input_ids"]
        out += [len(a) + len(b) for a, b in zip(p_ids, c_ids)]
        if progress is not None:
            progress(len(out), len(sample))
    return out, len(rows)


@dataclass
class MemoryBudget:
    """core.estimate's answer plus the detected device, or why there is none."""

    estimate: Any = None  # core.estimate.Estimate
    device: tuple[str, int] | None = None
    reason: str | None = None


def memory_budget(preset: Any) -> MemoryBudget:
    """Estimated memory of a preset, compared with this machine only when it is the preset's device kind."""
    from core.estimate import detected_kind, detected_memory, estimate_or_reason

    try:
        est = estimate_or_reason(preset)
    except Exception as e:  # noqa: BLE001 - an estimate must never break the presets pane
        return MemoryBudget(reason=f"no estimate: {type(e).__name__}: {e}")
    if isinstance(est, str):
        return MemoryBudget(reason=est)
    try:
        kind = detected_kind()
        same = kind == est.device or (est.device == "cpu" and kind == "mps")
        dev = detected_memory() if same else None  # a 7B CUDA estimate says nothing about this laptop's RAM
    except Exception:  # noqa: BLE001
        dev = None
    return MemoryBudget(estimate=est, device=dev)
