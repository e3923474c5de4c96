"""The Hugging Face caches on this machine: where they are, what they hold, and whether a model or dataset is in them.

Paths come from core/hf_paths.py (huggingface_hub's own rules, read at call time).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from core.doctor.report import Check, first_line, tilde
from core.hf_paths import hf_datasets_cache, hf_home, hf_hub_cache, repo_folder
from core.units import fmt_bytes


def download_hint(hub_id: str, repo_type: str = "model", revision: str | None = None) -> str:
    """The one sentence that says how to get a Hub repo onto an offline machine."""
    flags = (" --repo-type dataset" if repo_type == "dataset" else "") + (
        f" --revision {revision}" if revision else ""
    )
    return (
        f"on a machine with internet run `huggingface-cli download{flags} {hub_id}` (`hf download` with "
        f"huggingface_hub ≥ 1.0), then copy its cache to {tilde(hf_home())} here or set HF_HOME to the copy"
    )


def _dir_count(path: Path, prefix: str) -> int:
    try:
        return sum(1 for p in path.iterdir() if p.name.startswith(prefix))
    except OSError:
        return 0


def check_hf_cache() -> Check:
    """HF_HOME and how many models and datasets its caches hold."""
    # Counting folders, not huggingface_hub.scan_cache_dir: that stats every cached file, too slow for --quick.
    hub = hf_hub_cache()
    models, datasets = _dir_count(hub, "models--"), _dir_count(hub, "datasets--")
    prepared = _dir_count(hf_datasets_cache(), "")
    home = f"HF_HOME={tilde(hf_home())}"
    if not hub.exists() and not hf_datasets_cache().exists():
        return Check("HF cache", "pass", f"{home}: empty (nothing downloaded yet)")
    return Check(
        "HF cache",
        "pass",
        f"{home}: {models} models, {datasets} datasets in hub/, {prepared} entries in datasets/",
    )


@dataclass
class ModelCache:
    """Where a hub model stands in the local cache."""

    cached: bool
    snapshot: Path | None = None
    detail: str = ""
    complete: bool = False  # weights present too


def weights_present(folder: Path) -> tuple[bool, str]:
    """Whether a model folder (a snapshot or a save_pretrained folder) holds its weights, and what it holds."""
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            except Exception:  # any unreadable index says the same
                return False, f"{index_name} is unreadable"
            missing = [s for s in shards if not (folder / s).exists()]
            if missing:
                return False, f"{len(missing)} of {len(shards)} weight shards missing"
            return True, f"{len(shards)} weight shards"
    for pattern in ("*.safetensors", "*.bin", "*.gguf"):
        files = [p for p in folder.glob(pattern) if p.exists()]
        if files:
            return True, f"weights {files[0].name} ({fmt_bytes(sum(p.stat().st_size for p in files))})"
    return False, "no weight files"


def model_cache_status(
    repo_id: str, revision: str | None = None, *, tokenizer_only: bool = False
) -> ModelCache:
    """Whether a hub model's config.json and weights (or, `tokenizer_only`, its
    tokenizer_config.json) are in the local HF cache; no network."""
    from huggingface_hub import try_to_load_from_cache

    marker = "tokenizer_config.json" if tokenizer_only else "config.json"
    try:
        found = try_to_load_from_cache(repo_id, marker, cache_dir=str(hf_hub_cache()), revision=revision)
    except Exception as e:  # HFValidationError for ids that are no repo id
        return ModelCache(False, detail=f"not a valid Hub id ({first_line(e)})")
    if isinstance(found, str):
        snap = Path(found).parent
        if tokenizer_only:
            return ModelCache(True, snap, f"cached at {tilde(snap)}", complete=True)
        ok, what = weights_present(snap)
        return ModelCache(True, snap, f"cached at {tilde(snap)} ({what})", complete=ok)
    # A copied cache may hold a snapshot without refs/<revision>: say so.
    repo_dir = repo_folder(repo_id)
    snaps = list((repo_dir / "snapshots").glob(f"*/{marker}")) if repo_dir.is_dir() else []
    if snaps:
        return ModelCache(
            False,
            snaps[0].parent,
            f"a snapshot is cached at {tilde(snaps[0].parent)} but refs/{revision or 'main'} is missing",
        )
    return ModelCache(False, detail="not in the local cache")


def _camel_to_snake(name: str) -> str:
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name)
    return name.lower()


def dataset_cache_status(repo_id: str) -> tuple[bool, str]:
    """Whether a Hub dataset is in the local cache: downloaded files in the hub cache
    (repo_type="dataset") or a prepared Arrow copy in the datasets cache; no network."""
    hub_dir = repo_folder(repo_id, "dataset") / "snapshots"
    if hub_dir.is_dir() and any(hub_dir.iterdir()):
        return True, f"cached at {tilde(hub_dir.parent)}"
    # datasets prepares a copy at <owner>___<snake_case name> (datasets.builder, datasets.naming)
    parts = repo_id.split("/")
    parts[-1] = _camel_to_snake(parts[-1])
    prepared = hf_datasets_cache() / "___".join(parts)
    if prepared.is_dir() and any(p.is_dir() for p in prepared.glob("*/*/*")):
        return True, f"prepared copy at {tilde(prepared)}"
    return False, "not in the local cache"
