"""Where an export goes and how it gets there: a staging folder renamed into place, never a partial export.

Default: `<run>/exports/<format>[-<quant>][-checkpoint-N]/`, so the TUI finds a run's exports.
The export is written into `.tmp-<name>-<pid>/` next to the target and renamed when complete
(rename is atomic on one file system); a crash leaves only a `.tmp-*` folder, which readers skip.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TunerError
from core.runs import TMP_PREFIX

EXPORTS_DIR = "exports"
MANIFEST_FILE = "manifest.json"


def export_name(fmt: str, quant: str | None = None, checkpoint: str | None = None) -> str:
    """ "merged", "gguf-q8_0", "merged-bf16-checkpoint-40"."""
    return "-".join(p for p in (fmt, quant, checkpoint) if p)


def default_target(run_dir: Path, name: str) -> Path:
    """`<run>/exports/<name>`."""
    return Path(run_dir) / EXPORTS_DIR / name


def check_target(target: Path, force: bool) -> None:
    """Refuse an existing target unless --force, and even then unless it is an earlier export (or empty)."""
    if not target.exists():
        return
    if not target.is_dir():
        raise TunerError(f"{target} exists and is not a folder", kind="config", hint="choose another --out")
    is_export = (target / MANIFEST_FILE).is_file()
    empty = not any(target.iterdir())
    if not force and not empty:
        what = "an export" if is_export else "a folder"
        raise TunerError(
            f"{target} already holds {what}", kind="config", hint="--force replaces it, or --out DIR"
        )
    if force and not (is_export or empty):
        raise TunerError(
            f"{target} is not an earlier export (no {MANIFEST_FILE}); --force replaces only exports",
            kind="config",
            hint="choose another --out, or empty that folder yourself",
        )


def staging_dir(target: Path) -> Path:
    """A fresh `.tmp-<name>-<pid>` folder next to the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f"{TMP_PREFIX}{target.name}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def publish(staging: Path, target: Path) -> None:
    """Rename the finished staging folder to the target, replacing an earlier export only once it is whole."""
    if not target.exists():
        os.replace(staging, target)
        return
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
        os.replace(staging, target)
        return
    old = target.parent / f"{TMP_PREFIX}{target.name}-old-{os.getpid()}"
    os.replace(target, old)  # the earlier export survives until the new one is in place
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """manifest.json, written last into the staging folder."""
    path = folder / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """An export folder's manifest.json, or None when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class ExportInfo:
    """One finished export of a run, as the TUI lists it."""

    path: Path
    format: str
    quant: str | None
    created: float | None
    size_bytes: int | None
    verified: bool | None  # None: verification skipped
    checkpoint: str | None


def list_exports(run_dir: Path) -> list[ExportInfo]:
    """The run's finished exports under `exports/` (those with a manifest), newest first."""
    root = Path(run_dir) / EXPORTS_DIR
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if folder.name.startswith(TMP_PREFIX) or not folder.is_dir():
            continue
        m = read_manifest(folder)
        if m is None:
            continue
        ver = m.get("verification")
        found.append(
            ExportInfo(
                folder,
                str(m.get("format", "?")),
                m.get("quant"),
                m.get("created"),
                m.get("size_bytes"),
                ver.get("ok") if isinstance(ver, dict) else None,
                (m.get("run") or {}).get("checkpoint"),
            )
        )
    return sorted(found, key=lambda e: e.created or 0.0, reverse=True)
