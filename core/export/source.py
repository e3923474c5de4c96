"""What an export starts from: the run, its weights folder, how it trained, and its base model on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import TunerError

if TYPE_CHECKING:
    from core.config.schema import Preset

_DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class ExportSource:
    """A run's weights to export and the facts the manifest records about them."""

    run_dir: Path
    preset: Preset
    weights: Path  # adapter/ or checkpoints/checkpoint-N/
    full: bool  # the folder holds a whole model (train.adapter = "full", or a from-scratch run)
    checkpoint: str | None  # "checkpoint-40"; None for the final adapter/
    run_dtype: str  # what the run computed in: float32, bfloat16 or float16
    quantized: str | None  # "4-bit NF4" / "8-bit" when the run trained on a quantized base
    provenance: dict[str, Any]


def export_source(run_ref: str, checkpoint: str | None = None, runs_root: Path | None = None) -> ExportSource:
    """Resolve the run and its weights (adapter/ or a complete checkpoint; incomplete ones are refused)."""
    from core.run_model import ADAPTER_CONFIG, read_provenance, read_run_preset, weights_dir
    from core.runs import resolve_run

    run_dir = resolve_run(run_ref, runs_root)
    preset = read_run_preset(run_dir)
    weights = weights_dir(run_dir, checkpoint)
    provenance = read_provenance(run_dir)
    extra = provenance.get("extra") or {}
    dtype = extra.get("dtype") if isinstance(extra, dict) else None
    if dtype not in _DTYPES:  # an old or partial provenance: the preset says what was asked for
        dtype = preset.model.dtype if preset.model.dtype in _DTYPES else "float32"
    quantized = None
    if preset.quant.bits:
        quantized = f"4-bit {preset.quant.quant_type.upper()}" if preset.quant.bits == 4 else "8-bit"
    return ExportSource(
        run_dir=run_dir,
        preset=preset,
        weights=weights,
        full=not (weights / ADAPTER_CONFIG).is_file(),
        checkpoint=weights.name if checkpoint else None,
        run_dtype=str(dtype),
        quantized=quantized,
        provenance=provenance,
    )


def base_folder(preset: Preset) -> Path | None:
    """The base model's folder on this disk (hub models: their cached snapshot); None for scratch runs."""
    from core.models.loader import resolve_model

    src = resolve_model(preset.model)
    if src.kind == "scratch":
        return None
    if src.kind != "hub":
        return Path(src.location)
    from huggingface_hub import snapshot_download

    try:  # never the network: the export loads the base from the cache too
        return Path(snapshot_download(src.location, revision=src.revision, local_files_only=True))
    except Exception:  # any cache miss (LocalEntryNotFoundError, OSError) means "not here"
        from core.models.loader import offline_hint

        raise offline_hint(src.location) from None


def load_tokenizer(source: ExportSource) -> Any:
    """The tokenizer saved with the run's weights (what training used), else the base model's."""
    folder = source.weights
    trust = source.preset.model.trust_remote_code
    if (folder / "tokenizer_config.json").is_file() or (folder / "tokenizer.json").is_file():
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust)
        except (OSError, ValueError) as e:
            raise TunerError(
                f"cannot read the tokenizer in {folder}: {first_line(e)}", kind="model"
            ) from None
    else:
        from core.models.loader import load_tokenizer as base_tokenizer

        tok = base_tokenizer(source.preset.model)
        if tok is None:
            raise TunerError(f"{folder} has no tokenizer and the base model has none", kind="model")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (or its type's name)."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
