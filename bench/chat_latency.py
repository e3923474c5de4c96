"""Benchmark `tuner chat` latency: model load (cold, then cached) and time to the first token.

Usage: .venv/bin/python bench/chat_latency.py [RUN] [--runs-dir DIR] [--base] [--repeats 5] [--threads N]

RUN defaults to "latest". The run is loaded twice in one process: the first load pays for reading
the files from disk (and any lazy set-up), the second — "cached" — is what a user sees on a warm
machine (targets: ≤ 3 s). Then, for a few prompts, it measures the time from submitting the prompt
to the first generated token (max_new_tokens=1, i.e. prefill + one decode step) and to the first
text piece `tuner chat` prints (the streamer releases text at word boundaries), target ≤ 0.5 s.
The very first generation of a process is reported separately: it includes one-time warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = [
    "List all files in the current directory, including hidden ones",
    "Find all .log files under /var/log larger than 10M",
    "Count the lines in every .py file under src",
    "Show disk usage of each folder in my home directory",
    "Print the 10 largest files under /srv",
]


def fresh_prompts(loaded, n: int) -> list[str]:
    """`n` prompts whose formatted token lengths all differ."""
    from core.data.formatting import prompt_text

    seen: set[int] = set()
    out: list[str] = []
    k = 0
    while len(out) < n:
        prompt = PROMPTS[k % len(PROMPTS)] + " please" * (k // len(PROMPTS))
        k += 1
        length = len(
            loaded.tokenizer(prompt_text(loaded.tokenizer, prompt, loaded.style, loaded.system_prompt))[
                "input_ids"
            ]
        )
        if length not in seen:
            seen.add(length)
            out.append(prompt)
    return out


def first_piece(loaded, prompt: str, max_new_tokens: int) -> tuple[float, float, str]:
    """(seconds to the first non-empty text piece, seconds to the end, full text)."""
    from core.generate import stream_reply

    t = time.perf_counter()
    first = None
    pieces = []
    for piece in stream_reply(loaded, prompt, max_new_tokens=max_new_tokens):
        if first is None and piece.strip():
            first = time.perf_counter() - t
        pieces.append(piece)
    total = time.perf_counter() - t
    return (first if first is not None else total), total, "".join(pieces)


def one_token(loaded, prompt: str) -> float:
    """Seconds from the prompt to the first generated token (prefill + one step, nothing else)."""
    from core.generate import generate_batch

    t = time.perf_counter()
    generate_batch(
        loaded.model,
        loaded.tokenizer,
        [prompt],
        style=loaded.style,
        system_prompt=loaded.system_prompt,
        max_new_tokens=1,
    )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default="latest")
    ap.add_argument("--runs-dir", help="the folder that holds run directories")
    ap.add_argument("--base", action="store_true")
    ap.add_argument("--checkpoint")
    ap.add_argument("--repeats", type=int, default=5, help="prompts to time (after the warm-up one)")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument(
        "--threads", type=int, help="torch.set_num_threads (default: core.run_model.fit_cpu_threads)"
    )
    args = ap.parse_args()

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    t = time.perf_counter()
    import torch

    from core.cli_common import quiet_libraries

    quiet_libraries()
    import peft  # noqa: F401 - imported here so the timed loads below do not include it
    import transformers  # noqa: F401 - same: loaded before the timed load

    imports = time.perf_counter() - t
    if args.threads:
        torch.set_num_threads(args.threads)
    from core.run_model import load_for_inference

    kw = dict(
        base=args.base, checkpoint=args.checkpoint, runs_root=args.runs_dir, fit_threads=not args.threads
    )
    t = time.perf_counter()
    loaded = load_for_inference(args.run, **kw)
    cold = time.perf_counter() - t
    del loaded
    t = time.perf_counter()
    loaded = load_for_inference(args.run, **kw)
    cached = time.perf_counter() - t

    prompts = fresh_prompts(loaded, 1 + 2 * args.repeats)
    warm_first, warm_total, _ = first_piece(loaded, prompts[0], args.max_new_tokens)
    tokens, pieces, totals = [], [], []
    for i in range(args.repeats):
        # Every timing uses a prompt of a length not seen before in this process, as in a real chat
        # (CPU kernels may set up per input shape on first use; a repeated prompt would hide that).
        tokens.append(one_token(loaded, prompts[1 + 2 * i]))
        first, total, _ = first_piece(loaded, prompts[2 + 2 * i], args.max_new_tokens)
        pieces.append(first)
        totals.append(total)

    try:
        load_avg = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load_avg = "n/a"
    print(
        f"model:   {loaded.label} on {loaded.device} ({loaded.style} prompt), torch threads {torch.get_num_threads()}, "
        f"{os.cpu_count()} CPUs, load average {load_avg}"
    )
    print(f"imports (torch, transformers, peft):       {imports:6.2f} s")
    print(f"load, first in process:                    {cold:6.2f} s")
    print(
        f"load, cached (second):                     {cached:6.2f} s   target <= 3 s  "
        f"{'OK' if cached <= 3 else 'OVER'}"
    )
    print(
        f"first generation of the process, 1st piece: {warm_first:5.2f} s   (one-time warm-up included; "
        f"answer {warm_total:.2f} s)"
    )
    med_tok, med_piece = statistics.median(tokens), statistics.median(pieces)
    print(
        f"first token after the prompt (median of {len(tokens)}): {med_tok:5.3f} s   max {max(tokens):.3f} s   "
        f"target <= 0.5 s  {'OK' if med_tok <= 0.5 else 'OVER'}"
    )
    print(f"first printed piece (median of {len(pieces)}):    {med_piece:5.3f} s   max {max(pieces):.3f} s")
    print(f"whole answer (median, <= {args.max_new_tokens} tokens):       {statistics.median(totals):5.2f} s")


if __name__ == "__main__":
    main()
