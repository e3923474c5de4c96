"""The embedded SmolLM2 model: its GGUF file is installed, and whether the converted copy is cached (never converts)."""

from __future__ import annotations

import functools
from pathlib import Path

from core.doctor.report import Check, tilde
from core.errors import TunerError
from core.units import fmt_bytes


def embedded_converted_path(gguf: Path) -> Path:
    """Where `converted_dir` keeps the safetensors copy of `gguf`, computed without converting
    (and without writing the hash stamp)."""
    from core.models.embedded import _hash_marker, cache_root

    return _converted_path(str(gguf), _hash_marker(gguf), str(cache_root()))


@functools.lru_cache(maxsize=16)
def _converted_path(gguf_path: str, marker: str, root: str) -> Path:
    gguf = Path(gguf_path)
    stamp = Path(root) / "gguf-hashes" / (gguf.name + "." + marker)
    if stamp.is_file():
        digest = stamp.read_text().strip()
    else:  # ~0.1 s for the 98 MB embedded file
        from core.data.sources import file_sha256

        digest = file_sha256(gguf)
    return Path(root) / "models" / f"{gguf.stem}-{digest[:16]}"


def converted_ok(target: Path) -> bool:
    """True when a converted copy (config.json + model.safetensors) is complete."""
    return (target / "config.json").is_file() and (target / "model.safetensors").is_file()


def check_embedded() -> list[Check]:
    """The embedded GGUF file, and its converted copy in the tuner cache."""
    from core.models.embedded import embedded_gguf_path

    try:
        gguf = embedded_gguf_path()
    except TunerError as e:
        return [Check("GGUF file", "fail", e.message, e.hint)]
    out = [Check("GGUF file", "pass", f"{tilde(gguf)} ({fmt_bytes(gguf.stat().st_size)})")]
    target = embedded_converted_path(gguf)
    if converted_ok(target):
        out.append(Check("converted copy", "pass", f"{tilde(target)}"))
    else:
        out.append(
            Check(
                "converted copy", "pass", f"not converted yet: the first load writes {tilde(target)} (~11 s)"
            )
        )
    return out
