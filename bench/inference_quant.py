"""CPU generation speed of a QLoRA run: its base loaded as trained (4-bit) vs unquantized (--no-quant).

Usage: .venv/bin/python bench/inference_quant.py RUN [--threads 1] [--tokens 32] [--reps 5]
RUN is a run trained with quant.bits = 4 (e.g. `tuner run quickstart --set quant.bits=4 --max-steps 2`).
Greedy generation of a fixed length, interleaved 4-bit / fp32 repetitions, median per batch size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = [
    "List all files, including hidden ones",
    "Show disk usage of the current folder",
    "Count lines in notes.txt",
]


def generate_seconds(loaded, batch: int, tokens: int) -> float:
    """Seconds to generate exactly `tokens` new tokens for `batch` prompts."""
    import torch

    from core.data.formatting import prompt_text

    tok = loaded.tokenizer
    texts = [prompt_text(tok, p, loaded.style, loaded.system_prompt) for p in (PROMPTS * batch)[:batch]]
    tok.padding_side = "left"
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    started = time.perf_counter()
    with torch.no_grad():
        loaded.model.generate(
            **enc,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            pad_token_id=tok.pad_token_id,
        )
    return time.perf_counter() - started


def main() -> None:
    """Load the run both ways, warm up, then time interleaved repetitions."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    import torch

    from core.run_model import load_for_inference

    torch.set_num_threads(args.threads)
    loaded = {}
    for quant in (True, False):
        started = time.perf_counter()
        loaded[quant] = load_for_inference(args.run, quant=quant, fit_threads=False)
        print(
            f"load {'4-bit' if quant else 'fp32 '}: {time.perf_counter() - started:.1f} s ({loaded[quant].base_note})"
        )
    for quant in (True, False):  # bitsandbytes repacks 4-bit weights on the first eval-mode call
        generate_seconds(loaded[quant], 1, 2)
    print("| batch | 4-bit tok/s | fp32 tok/s | ratio |\n|---|---|---|---|")
    for batch in (1, 8):
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.reps):
            for quant in (True, False):
                times[quant].append(generate_seconds(loaded[quant], batch, args.tokens))
        rate = {q: batch * args.tokens / sorted(t)[len(t) // 2] for q, t in times.items()}
        print(f"| {batch} | {rate[True]:.1f} | {rate[False]:.1f} | {rate[True] / rate[False]:.2f}× |")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
