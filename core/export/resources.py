"""Will the export fit: RAM for the merge and disk for the files, checked before anything is loaded.

The merge holds the model once in the export's dtype, plus what loading, the safetensors writer
and the verification reload add on top: `MERGE_RAM_FACTOR` × the weights, plus the Python/torch
process itself. The factor was measured on SmolLM2-135M (peak RSS of `tuner export` against its
weights' size, bench/export_speed.py); docs/export.md has the figures and the 7B estimate.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from core.errors import TunerError
from core.units import GiB, fmt_bytes

BYTES_PER_PARAM = {"float32": 4, "bfloat16": 2, "float16": 2}
MERGE_RAM_FACTOR = 1.6  # × weights bytes: measured 1.38 (fp32 → fp32) and 1.6 (fp32 → bf16 cast)
PROCESS_RAM = 1 * GiB  # python + torch + transformers + peft loaded, before any weights
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def model_params(config_file: Path) -> int | None:
    """Total parameters of a model from its config.json (core.estimate's shapes); None when unknown."""
    import json

    from core.estimate.shapes import arch_from_config

    try:
        return arch_from_config(json.loads(Path(config_file).read_text(encoding="utf-8"))).total_params()
    except (OSError, ValueError, KeyError, TypeError):
        return None


def weights_bytes(params: int, dtype: str) -> int:
    """Size of the weights in `dtype`."""
    return params * BYTES_PER_PARAM[dtype]


def merge_ram_needed(params: int, dtype: str) -> int:
    """RAM a merge of `params` parameters in `dtype` needs (weights × factor + the process)."""
    return int(weights_bytes(params, dtype) * MERGE_RAM_FACTOR) + PROCESS_RAM


def check_merge_ram(params: int, dtype: str, available: int) -> None:
    """Refuse in one line, with the figures, when `available` bytes of RAM cannot hold the merge."""
    need = merge_ram_needed(params, dtype)
    if need > available:
        raise TunerError(
            f"merging this {params / 1e9:.2g} B-parameter model in {dtype} needs about {fmt_bytes(need)} of RAM; "
            f"this machine has {fmt_bytes(available)} available",
            kind="oom",
            hint="free memory or export on a larger machine; --format adapter needs no merge",
        )


def available_ram() -> int:
    """RAM available to a new allocation now (psutil)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_disk(folder: Path, need: int) -> None:
    """Refuse in one line when the file system holding `folder` has less than `need` bytes free."""
    probe = Path(folder)
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        raise TunerError(
            f"the export needs about {fmt_bytes(need)} on {probe}; {fmt_bytes(free)} free",
            kind="disk",
            hint="free space or choose another --out",
        )


def is_disk_full(e: BaseException) -> bool:
    """An OSError for a full disk, quota or file-size limit, or a writer's error wrapping one.

    safetensors reports I/O failures as SafetensorError("... (os error 28)"), not as OSError.
    """
    if isinstance(e, OSError):
        return e.errno in DISK_FULL
    text = str(e)
    return any(f"(os error {n})" in text for n in DISK_FULL) or "No space left on device" in text


def disk_full_error(e: BaseException, folder: Path) -> TunerError | None:
    """The one-line error for a write that ran out of space (None for other errors)."""
    if not is_disk_full(e):
        return None
    probe = Path(folder)
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    return TunerError(
        f"disk full while writing the export into {folder} ({fmt_bytes(free)} free): nothing was kept",
        kind="disk",
        hint="free space or choose another --out, then run the export again",
    )
