"""SHA-256 of model folders for export manifests, memoized by file size and mtime.

A 7B base is ~15 GB of safetensors: hashing it takes about a minute, so each file's digest is
kept in tuner's cache keyed by its resolved path, size and mtime (nanoseconds), and an unchanged
file is never read twice. A changed file (new size or mtime) is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

# The files that make a model or adapter what it is: its config and weights (shards and their index).
# Not a checkpoint's optimizer.pt / rng_state.pth nor the Trainer's training_args.bin.
CONFIG_NAMES = ("config.json", "adapter_config.json")
WEIGHT_PREFIXES = ("model", "adapter_model", "pytorch_model")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json")


def _memo_path() -> Path:
    from core.models.embedded import cache_root

    return cache_root() / "file-hashes.json"


def _read_memo() -> dict[str, str]:
    try:
        data = json.loads(_memo_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_memo(memo: dict[str, str]) -> None:
    path = _memo_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
        tmp.write_text(json.dumps(memo, indent=0, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full cache only costs a rehash next time


def cached_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, reused while its size and mtime are unchanged."""
    from core.data.sources import file_sha256

    real = Path(path).resolve()  # hub snapshots are symlinks into blobs/
    st = real.stat()
    key = f"{real}|{st.st_size}|{st.st_mtime_ns}"
    memo = _read_memo()
    if key in memo:
        return memo[key]
    digest = file_sha256(real)
    # Drop this file's stale entries and those of files that are gone (test folders, deleted models).
    memo = {
        k: v
        for k, v in _read_memo().items()
        if not k.startswith(f"{real}|") and os.path.exists(k.rsplit("|", 2)[0])
    }
    memo[key] = digest
    _write_memo(memo)
    return digest


def model_files(folder: Path) -> list[Path]:
    """The config and weight files of a model or adapter folder, sorted by name."""
    folder = Path(folder)
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and (
            p.name in CONFIG_NAMES
            or p.name.endswith(".gguf")
            or (p.name.startswith(WEIGHT_PREFIXES) and p.name.endswith(WEIGHT_SUFFIXES))
        )
    )


def folder_sha256(folder: Path) -> str | None:
    """One SHA-256 over the config and weight files of a folder ("name sha256" lines); None when none."""
    files = model_files(folder)
    if not files:
        return None
    lines = "".join(f"{p.name} {cached_sha256(p)}\n" for p in files)
    return hashlib.sha256(lines.encode()).hexdigest()
