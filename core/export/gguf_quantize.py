"""Quantize a GGUF with llama.cpp's C library (llama-cpp-python), in a subprocess of `convert_to_gguf`.

usage: python -m core.export.gguf_quantize SRC.gguf OUT.gguf QUANT   (QUANT e.g. q4_k_m)

A separate process because llama.cpp aborts the whole process on some errors; the parent then
reports this process's last line instead of dying with it.
"""

from __future__ import annotations

import os
import sys


def quantize(src: str, out: str, quant: str) -> None:
    """Write `out`, `src` quantized to `quant` by llama_model_quantize (as llama-quantize does)."""
    import llama_cpp

    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}", None)
    if ftype is None:
        raise SystemExit(f"llama.cpp has no quantization type {quant}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = os.cpu_count() or 1
    rc = llama_cpp.llama_model_quantize(src.encode(), out.encode(), params)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize returned {rc} for {src} → {quant}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    quantize(*sys.argv[1:])
