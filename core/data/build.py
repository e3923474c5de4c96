"""`tuner data build`: run the pipeline once per distinct input and keep the result on disk.

The data directory is keyed by a hash of the inputs (the [data] section, every source's content
fingerprint and the pipeline version), so an unchanged rebuild only reads `manifest.json`.
It is written to a temporary folder and renamed when complete: never a half-written build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config.schema import Preset
from core.data.records import Example

# Bump when the on-disk format changes.
PIPELINE_VERSION = 1


def code_fingerprint() -> str:
    """Hash of the data steps' source: a changed step never reuses an old build."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in (
        "records",
        "sources",
        "hub",
        "hub_specs",
        "hub_normalize",
        "hub_access",
        "hub_load",
        "hub_stream",
        "normalize",
        "bash_scan",
        "syntax",
        "safety",
        "danger_lex",
        "danger_paths",
        "danger_rules",
        "danger_delete",
        "danger_write",
        "danger_system",
        "danger_code",
        "augment",
        "augment_pools",
        "augment_spans",
        "augment_names",
        "augment_numbers",
        "augment_detect",
        "pipeline",
        "build",
    ):
        h.update((here / f"{name}.py").read_bytes())
    return h.hexdigest()


@dataclass
class DataDir:
    """A built data directory: splits, rejected rows, report and manifest."""

    path: Path
    manifest: dict[str, Any]
    cached: bool = False

    @property
    def data_hash(self) -> str:
        """SHA-256 over the normalized rows (provenance)."""
        return self.manifest["data_hash"]

    def split(self, name: str) -> list[Example]:
        """Rows of one split ("train", "val", "test")."""
        return read_examples(self.path / f"{name}.jsonl")

    def report(self) -> dict[str, Any]:
        """The cleaning/augmentation report."""
        return json.loads((self.path / "report.json").read_text())

    def rejected(self) -> list[dict[str, Any]]:
        """Rejected rows with their step and reason."""
        with open(self.path / "rejected.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


def read_examples(path: Path) -> list[Example]:
    """Read a split file written by `build_data`."""
    with open(path, encoding="utf-8") as f:
        return [Example.from_json(json.loads(line)) for line in f if line.strip()]


def data_root() -> Path:
    """Where built data directories live (TUNER_DATA_DIR, default ~/.cache/tuner/data)."""
    env = os.environ.get("TUNER_DATA_DIR")
    if env:
        return Path(env)
    from core.models.embedded import cache_root

    return cache_root() / "data"


def input_key(preset: Preset, base_dir: Path | None = None) -> str:
    """Hash of everything a build depends on."""
    from core.data.sources import file_sha256, source_fingerprint
    from core.exec_eval.exec_set import exec_set_path

    payload = {
        "pipeline": PIPELINE_VERSION,
        "code": code_fingerprint(),
        "data": preset.data.model_dump(mode="json"),
        "sources": [source_fingerprint(s, base_dir) for s in preset.data.sources],
        # train rows are decontaminated against the execution-checked set: a changed set rebuilds
        "exec_set": file_sha256(exec_set_path()),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def build_data(
    preset: Preset, base_dir: Path | None = None, *, out: Path | None = None, force: bool = False
) -> DataDir:
    """Build (or reuse) the data directory for a preset."""
    key = input_key(preset, base_dir)
    target = out or data_root() / f"{preset.name}-{key[:12]}"
    manifest_path = target / "manifest.json"
    if not force and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("input_key") == key:
            return DataDir(target, manifest, cached=True)

    from core.data.pipeline import SPLITS, run_pipeline

    started = time.time()
    result = run_pipeline(preset.data, base_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        for name in SPLITS:
            _write_jsonl(tmp / f"{name}.jsonl", (ex.to_json() for ex in result.splits[name]))
        _write_jsonl(tmp / "rejected.jsonl", (r.to_json() for r in result.rejected))
        if result.alternatives:
            (tmp / "alternatives.json").write_text(json.dumps(result.alternatives, indent=1))
        (tmp / "report.json").write_text(json.dumps(result.report, indent=2, ensure_ascii=False))
        manifest = {
            "data_hash": result.data_hash,
            "input_key": key,
            "preset": preset.name,
            "pipeline_version": PIPELINE_VERSION,
            "counts": {name: len(result.splits[name]) for name in SPLITS}
            | {"rejected": len(result.rejected)},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "build_seconds": round(time.time() - started, 3),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return DataDir(target, manifest, cached=False)


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")
