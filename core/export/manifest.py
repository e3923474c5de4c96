"""manifest.json of an export: where it came from (run, checkpoint, base, adapter, data), what it is, and its proof."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from core.export.hashing import folder_sha256
from core.export.source import ExportSource, base_folder

MANIFEST_VERSION = 1


def _adapter_kind(source: ExportSource) -> str:
    if source.preset.model.scratch is not None:
        return "scratch"
    if source.full:
        return "full"
    return "qlora" if source.quantized else "lora"


def base_record(source: ExportSource) -> dict[str, Any]:
    """The base model: id, folder on this disk and the SHA-256 of its config and weights (null for scratch)."""
    model = source.preset.model
    if model.scratch is not None:
        return {"id": None, "path": None, "sha256": None}
    folder = base_folder(source.preset)
    return {
        "id": model.id,
        "revision": model.revision,
        "path": str(folder) if folder else None,
        "sha256": folder_sha256(folder) if folder else None,
        "source_file_sha256": source.provenance.get("base_model_file_sha256"),
    }


def folder_files(folder: Path) -> dict[str, int]:
    """Every file of the export (relative name → bytes), manifest excluded."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def build_manifest(
    source: ExportSource,
    *,
    fmt: str,
    quant: str | None,
    folder: Path,
    details: dict[str, Any],
    verification: dict[str, Any] | None,
    seconds: float,
) -> dict[str, Any]:
    """The manifest dict for an export whose files are already in `folder`."""
    import core

    files = folder_files(folder)
    return {
        "manifest_version": MANIFEST_VERSION,
        "tuner_version": core.__version__,
        "created": time.time(),
        "format": fmt,
        "quant": quant,
        "run": {
            "name": source.run_dir.name,
            "path": str(source.run_dir.resolve()),
            "checkpoint": source.checkpoint,
            "weights": str(source.weights.resolve()),
            "adapter": _adapter_kind(source),
            "dtype": source.run_dtype,
            "quantized_base": source.quantized,
            "data_hash": source.provenance.get("data_hash"),
            "prompt_format": source.preset.data.prompt_format,
            "system_prompt": source.preset.data.system_prompt,
        },
        "base": base_record(source),
        "adapter_sha256": folder_sha256(source.weights),
        **details,
        "files": files,
        "size_bytes": sum(files.values()),
        "verification": verification,
        "seconds": round(seconds, 2),
    }
