"""`tuner export`: a run's weights as something to ship: merged transformers model, GGUF, or the adapter.

Order: check the request → resolve the run and its weights → refuse an existing target, too little
RAM or disk → build into a staging folder (merge, save, verify; convert to GGUF; copy the adapter)
→ manifest.json → rename into place. Any failure removes the staging folder: no partial export is
ever left looking complete.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import TunerError
from core.export import target as tgt
from core.export.merge import DTYPES, MergeResult, merge_to_folder
from core.export.resources import (
    BYTES_PER_PARAM,
    available_ram,
    check_disk,
    check_merge_ram,
    disk_full_error,
    model_params,
)
from core.export.source import ExportSource, base_folder, export_source

FORMATS = ("merged", "gguf", "adapter")


@dataclass
class ExportRequest:
    """What `tuner export` was asked for."""

    run: str
    fmt: str = "merged"
    quant: str | None = None
    checkpoint: str | None = None
    out: Path | None = None
    force: bool = False
    verify: bool = True
    ollama: bool = False
    runs_root: Path | None = None


@dataclass
class ExportResult:
    """A finished export: its folder, manifest and what to tell the user."""

    path: Path
    manifest: dict[str, Any]
    seconds: float
    notes: list[str] = field(default_factory=list)


def _check_request(req: ExportRequest) -> None:
    """Format, quant and flag combinations, before anything is read."""
    if req.fmt not in FORMATS:
        raise TunerError(f"--format {req.fmt!r} is not one of {', '.join(FORMATS)}", kind="config")
    if req.ollama and req.fmt != "gguf":
        raise TunerError("--ollama needs --format gguf", kind="config", hint="Ollama runs GGUF files")
    if req.fmt == "adapter" and req.quant:
        raise TunerError(
            "--quant does not apply to --format adapter",
            kind="config",
            hint="the adapter is copied as trained",
        )
    if req.fmt == "merged" and req.quant and req.quant not in DTYPES:
        raise TunerError(
            f"--quant {req.quant!r} is not a dtype for --format merged",
            kind="config",
            hint=f"one of {', '.join(DTYPES)} (or --format gguf for q8_0, q4_k_m …)",
        )
    if req.fmt == "gguf":
        from core.export.gguf import available_quants

        quants = available_quants()
        quant = req.quant or "f16"
        if quant not in quants:
            raise TunerError(
                f"--quant {quant!r} is not a GGUF type tuner knows",
                kind="config",
                hint=f"one of {', '.join(quants)}",
            )
        if quants[quant]:
            raise TunerError(f"--quant {quant} cannot be produced here: {quants[quant]}", kind="dependency")


def _params(source: ExportSource) -> int | None:
    folder = source.weights if source.full else base_folder(source.preset)
    return model_params(folder / "config.json") if folder else None


def _check_resources(
    source: ExportSource, fmt: str, dtype: str, target: Path, say: Callable[[str], None]
) -> None:
    """Refuse before loading when the merge cannot fit in RAM or the files on disk."""
    params = _params(source)
    if params is None:
        say("RAM and disk checks skipped: the model's size is not known to core.estimate")
        return
    if fmt == "adapter":
        check_disk(target.parent, 2 * sum(p.stat().st_size for p in source.weights.iterdir() if p.is_file()))
        return
    loaded = max(BYTES_PER_PARAM[dtype], BYTES_PER_PARAM[source.run_dtype])  # loaded as trained, then cast
    check_merge_ram(params, dtype if BYTES_PER_PARAM[dtype] == loaded else source.run_dtype, available_ram())
    weights = params * BYTES_PER_PARAM[dtype]
    check_disk(target.parent, int(weights * (2.05 if fmt == "gguf" else 1.05)))


def _merge_details(m: MergeResult) -> dict[str, Any]:
    return {
        "dtype": m.dtype,
        "merge": m.note,
        "prompt_style": m.style,
        "stop_token_ids": m.stop_ids,
        "stop_tokens": m.stop_tokens,
        "eos_changed_from": m.eos_changed_from,
    }


def _build_merged(
    source: ExportSource, staging: Path, dtype: str, req: ExportRequest, say: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    say(f"merging {source.weights.name} into {source.preset.model.id} ({dtype}) …")
    m = merge_to_folder(source, staging, dtype, verify=req.verify)
    _raise_unverified(m)
    return _merge_details(m), m.verification.to_json() if m.verification else None


def _raise_unverified(m: MergeResult) -> None:
    if m.verification is not None and not m.verification.ok:
        raise TunerError(
            f"the export does not answer like the run: {m.verification.summary()}; nothing was kept",
            kind="export",
            hint="report it with the run's preset.toml; --no-verify writes it anyway",
        )


def _build_gguf(
    source: ExportSource, staging: Path, quant: str, req: ExportRequest, say: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from core.export.gguf import convert_to_gguf

    merged = staging.parent / f"{staging.name}-merged"
    merged.mkdir()
    try:
        say(f"merging {source.weights.name} into {source.preset.model.id} ({source.run_dtype}) …")
        m = merge_to_folder(source, merged, source.run_dtype, verify=req.verify)
        _raise_unverified(m)
        gguf_name = f"{source.run_dir.name}-{quant}.gguf"
        say(f"converting to GGUF {quant} …")
        convert_to_gguf(merged, staging / gguf_name, quant)
        details = {**_merge_details(m), "gguf_file": gguf_name}
        if req.ollama:
            from core.export.ollama import write_modelfile

            modelfile = write_modelfile(staging, gguf_name, merged, source.preset.data.system_prompt, m.style)
            details["ollama_modelfile"] = modelfile.name
    finally:
        shutil.rmtree(merged, ignore_errors=True)
    return details, ({"merged": m.verification.to_json()} if m.verification else None)


def _build_adapter(
    source: ExportSource, staging: Path, say: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from core.data.formatting import resolve_style
    from core.export.hashing import folder_sha256
    from core.export.source import load_tokenizer
    from core.export.stop_tokens import apply_stop_tokens, trained_stop_ids

    say(f"copying the adapter from {source.weights} …")
    for f in source.weights.iterdir():
        if f.is_file() and (f.name.startswith("adapter_") or f.name == "README.md"):
            shutil.copy2(f, staging / f.name)
    tokenizer = load_tokenizer(source)
    style = resolve_style(tokenizer, source.preset.data.prompt_format)
    stop = trained_stop_ids(tokenizer, style, source.preset.data.system_prompt)
    old_eos = apply_stop_tokens(tokenizer, stop)
    tokenizer.save_pretrained(str(staging))
    same = folder_sha256(staging) == folder_sha256(source.weights)
    verification = {
        "ok": same,
        "summary": "adapter files are byte-identical to the run's"
        if same
        else "adapter files differ from the run's",
        "method": "sha256 of adapter_config.json and the adapter weights",
    }
    if not same:
        raise TunerError(f"the copied adapter differs from {source.weights}; nothing was kept", kind="export")
    details = {
        "prompt_style": style,
        "stop_token_ids": stop,
        "stop_tokens": [tokenizer.convert_ids_to_tokens(i) for i in stop],
        "eos_changed_from": old_eos,
    }
    return details, verification


def export_run(req: ExportRequest, say: Callable[[str], None] = lambda _: None) -> ExportResult:
    """Export a run (see the module docstring); raises TunerError in one line on any refusal or failure."""
    started = time.perf_counter()
    _check_request(req)
    source = export_source(req.run, req.checkpoint, req.runs_root)
    if req.fmt == "adapter" and source.full:
        raise TunerError(
            f"{source.run_dir.name} is a full fine-tune: it has no adapter to export",
            kind="config",
            hint="use --format merged",
        )
    quant = req.quant or ("f16" if req.fmt == "gguf" else None)
    dtype = DTYPES[quant] if req.fmt == "merged" and quant else source.run_dtype
    target = (
        Path(req.out)
        if req.out
        else tgt.default_target(source.run_dir, tgt.export_name(req.fmt, quant, source.checkpoint))
    )
    tgt.check_target(target, req.force)
    _check_resources(source, req.fmt, dtype, target, say)

    from core.run_model import fit_cpu_threads

    fit_cpu_threads()
    staging = tgt.staging_dir(target)
    try:
        if req.fmt == "merged":
            details, verification = _build_merged(source, staging, dtype, req, say)
        elif req.fmt == "gguf":
            details, verification = _build_gguf(source, staging, str(quant), req, say)
        else:
            details, verification = _build_adapter(source, staging, say)
        from core.export.manifest import build_manifest

        manifest = build_manifest(
            source,
            fmt=req.fmt,
            quant=quant,
            folder=staging,
            details=details,
            verification=verification,
            seconds=time.perf_counter() - started,
        )
        tgt.write_manifest(staging, manifest)
        tgt.publish(staging, target)
    except BaseException as e:  # KeyboardInterrupt too: a staging folder is never left behind
        shutil.rmtree(staging, ignore_errors=True)
        full = disk_full_error(e, target)
        if full is not None:
            raise full from None
        raise
    notes = [details["merge"]] if "merge" in details else []
    return ExportResult(target, manifest, time.perf_counter() - started, notes)
