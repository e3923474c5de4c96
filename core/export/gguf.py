"""GGUF export through llama.cpp's own tools: its converter for f32/f16/bf16/q8_0, and its C
library's quantizer (llama-cpp-python, optional) for the legacy and K-quants.

The converter's Python code cannot write K-quants (gguf-py only dequantizes them), so `q4_k_m` and
friends go f16/bf16 → llama_model_quantize, as llama.cpp's `llama-quantize` tool does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.errors import TunerError
from core.export.llama_cpp import ensure_converter, supported_architectures
from core.secrets import scrub

# Written by llama.cpp's converter itself (convert_hf_to_gguf.py --outtype).
CONVERTER_QUANTS = ("f32", "f16", "bf16", "q8_0")
# Written by llama.cpp's quantizer (llama_cpp.LLAMA_FTYPE_MOSTLY_<NAME>) from a 16-bit GGUF.
LLAMA_CPP_QUANTS = (
    "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_s", "q3_k_m", "q3_k_l",
    "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k",
)  # fmt: skip
_BUILD_HINT = "pip install llama-cpp-python==0.3.36 (a C++ build; `make test-gguf` builds and installs it)"
_SHIM = Path(__file__).with_name("gguf_converter_shim.py")


def _llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def available_quants() -> dict[str, str | None]:
    """Each --quant value → None if this machine can produce it, else the one-line reason why not."""
    quants: dict[str, str | None] = dict.fromkeys(CONVERTER_QUANTS)
    reason = None if _llama_cpp_installed() else f"needs llama.cpp's quantizer: {_BUILD_HINT}"
    quants.update(dict.fromkeys(LLAMA_CPP_QUANTS, reason))
    return quants


def _check_quant(quant: str) -> None:
    quants = available_quants()
    if quant not in quants:
        raise TunerError(
            f"unknown GGUF quantization {quant!r}",
            kind="export",
            hint="choose one of " + ", ".join(quants),
        )
    reason = quants[quant]
    if reason is not None:
        raise TunerError(
            f"GGUF quantization {quant} is not available on this machine: {reason}",
            kind="export",
            hint="or pick one of " + ", ".join(CONVERTER_QUANTS),
        )


def model_architecture(model_dir: Path) -> str:
    """The model's Hugging Face architecture name (config.json `architectures[0]`)."""
    config = model_dir / "config.json"
    if not config.is_file():
        raise TunerError(
            f"{model_dir} is not a transformers model folder (no config.json)",
            kind="export",
            hint="export the merged model first",
        )
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise TunerError(f"{config} cannot be read: {exc}", kind="export") from exc
    archs = data.get("architectures") or []
    if not archs:
        raise TunerError(
            f"{config} has no `architectures` entry",
            kind="export",
            hint="save the model with transformers' save_pretrained",
        )
    return str(archs[0])


def _check_weights(model_dir: Path) -> None:
    # Without weights the converter still writes a vocabulary-only GGUF that looks like a model.
    if not any(model_dir.glob("*.safetensors")) and not any(model_dir.glob("pytorch_model*.bin")):
        raise TunerError(
            f"{model_dir} holds no model weights (*.safetensors or pytorch_model*.bin)",
            kind="export",
            hint="export the merged model first",
        )


def gguf_tensor_count(path: Path) -> int:
    """Number of tensors a GGUF file's header declares (0 for a vocabulary-only file)."""
    with path.open("rb") as f:
        header = f.read(16)
    if len(header) < 16 or header[:4] != b"GGUF":
        raise TunerError(f"{path} is not a GGUF file", kind="export")
    return int.from_bytes(header[8:16], "little")


def _check_supported(model_dir: Path, llama_dir: Path) -> None:
    arch = model_architecture(model_dir)
    if arch not in supported_architectures(llama_dir):
        raise TunerError(
            f"llama.cpp's GGUF converter does not support {arch} ({model_dir})",
            kind="export",
            hint="export --format merged instead, or convert with a newer llama.cpp",
        )


def _run(cmd: list[str], what: str, log_file: Path) -> None:
    # The repo root on PYTHONPATH: the quantize step runs `-m core.export.gguf_quantize`.
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=log_file.parent)
    if proc.returncode == 0:
        return
    log = scrub(proc.stdout + proc.stderr)
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    log_file.write_text(log)
    raise TunerError(
        f"{what} failed: {lines[-1] if lines else f'exit code {proc.returncode}'}",
        kind="export",
        hint=f"full log: {log_file}",
    )


def _convert(llama_dir: Path, model_dir: Path, out: Path, outtype: str, log_file: Path) -> None:
    cmd = [sys.executable, str(_SHIM), str(llama_dir), str(model_dir), "--outfile", str(out)]
    _run(cmd + ["--outtype", outtype], f"llama.cpp's GGUF converter on {model_dir}", log_file)


def _quantize(src: Path, out: Path, quant: str, log_file: Path) -> None:
    cmd = [sys.executable, "-m", "core.export.gguf_quantize", str(src), str(out), quant]
    _run(cmd, f"llama.cpp's quantizer ({quant})", log_file)


def convert_to_gguf(model_dir: Path, out_file: Path, quant: str = "f16") -> None:
    """Write `out_file`, a GGUF of the transformers model in `model_dir`, through llama.cpp's tools."""
    quant = quant.lower()
    _check_quant(quant)
    model_dir = Path(model_dir).resolve()
    out_file = Path(out_file).resolve()
    model_architecture(model_dir)
    _check_weights(model_dir)
    llama_dir = ensure_converter()
    _check_supported(model_dir, llama_dir)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    log_file = out_file.with_name(out_file.name + ".failed.log")
    # Everything is written in a temporary folder beside the target and renamed at the end, so a
    # failed or interrupted export never leaves a file that looks complete.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_file.name}.tmp-", dir=out_file.parent))
    try:
        staged = tmp / out_file.name
        if quant in CONVERTER_QUANTS:
            _convert(llama_dir, model_dir, staged, quant, log_file)
        else:
            # "auto": the converter keeps bf16 weights bf16 and writes f16 otherwise, llama.cpp's advice.
            wide = tmp / "wide.gguf"
            _convert(llama_dir, model_dir, wide, "auto", log_file)
            _quantize(wide, staged, quant, log_file)
        if gguf_tensor_count(staged) == 0:
            raise TunerError(f"llama.cpp's converter wrote no tensors for {model_dir}", kind="export")
        staged.replace(out_file)
        log_file.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
