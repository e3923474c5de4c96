"""4-bit base on the CPU: PEFT's fp32 upcast of the unquantized weights vs tuner's prepare_kbit.

QLoRA leaves the embeddings, lm_head and norms unquantized. PEFT's prepare_model_for_kbit_training
casts them to fp32; core.models.build.prepare_kbit only freezes the base and keeps them in the
dtype they were loaded in (bf16 here). This bench trains the same LoRA on the same random batch
both ways, under `torch.autocast("cpu", torch.bfloat16)` (what the Trainer's bf16 flag does on a
GPU), and reports for each path:

  frozen unquantized   bytes of the frozen parameters that are not Params4bit (embeddings, norms)
  residual stream      dtype of the hidden states after the first block
  saved for backward   bytes autograd keeps for one training step, counted with
                       torch.autograd.graph.saved_tensors_hooks (each storage once, parameters
                       themselves left out): the activations the estimator (core/estimate/components.py)
                       predicts, plus any autocast copy of a weight. Split into the blocks'
                       tensors and those with a vocabulary-sized dimension (logits, their fp32
                       copies, the lm_head weight's autocast copy)
  peak RSS Δ           ru_maxrss at the end minus RSS just before loading the model (a fresh
                       process per path, so imports are not counted; includes the upcast's
                       transient second copy while it casts)
  ms/step              median over the steps after the first two of this process's CPU time
                       (user + sys) and, in brackets, of the wall time. One torch thread by
                       default: on a shared 2-core VM the wall time moves with the other load,
                       and with 2 threads OpenMP's spin-waits inflate the CPU time as well
  losses               every step's loss; "max |Δ loss|" is against the upcast path

No gradient checkpointing, so the saved bytes are every layer's activations. Models are built
from configs with random weights (as tests/core/train/conftest.py::build_tiny does) and saved in
bf16; hidden sizes are multiples of 64 because bitsandbytes' CPU 4-bit blocks are 64 wide.

Usage: .venv/bin/python bench/kbit_upcast.py [--shapes tiny,small] [--steps 20] [--rows 4] [--seq 64] [--threads 1]
                                             [--no-autocast] [--json]
Prints a Markdown table (and, with --json, one JSON line per run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name → (layers, hidden, intermediate, heads, kv heads). "tiny" is the test fixture's shape
# (tests/core/train/conftest.py); "small" is the largest that runs both paths in well under a
# minute on a 2-core VM. Both use the embedded tokenizer's vocabulary (49,152) with tied
# embeddings, so the embedding matrix dominates the unquantized bytes, as it does for Qwen2.5-7B.
SHAPES = {
    "tiny": (2, 64, 128, 2, 1),
    "small": (4, 256, 768, 4, 2),
}
PATHS = ("upcast", "prepare_kbit")


def vocab_size() -> int:
    """The embedded SmolLM2 tokenizer's vocabulary (49,152), as build_tiny uses."""
    from transformers import AutoTokenizer

    from core.models.embedded import converted_dir

    return len(AutoTokenizer.from_pretrained(converted_dir()))


def build_model(folder: Path, shape: str, vocab: int) -> None:
    """Save a random-initialised Llama of `shape` in bf16 (seeded: both paths load the same weights)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    layers, hidden, inter, heads, kv = SHAPES[shape]
    cfg = AutoConfig.for_model(
        "llama",
        vocab_size=vocab,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
    )
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).save_pretrained(folder)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(folder: Path, path: str, steps: int, rows: int, seq: int, autocast: bool, threads: int) -> dict:
    """Train one path in this (fresh) process and return its measurements."""
    import contextlib

    import torch

    torch.set_num_threads(threads)
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from core.models.build import _keep_cpu_4bit_trainable, prepare_kbit

    rss0 = _rss_bytes()
    q = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.bfloat16, quantization_config=q, device_map={"": "cpu"}
    )
    model.config.use_cache = False
    _keep_cpu_4bit_trainable(model)  # as core.models.build does on the CPU
    if path == "upcast":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    else:
        prepare_kbit(model)
    torch.manual_seed(0)  # the same LoRA initialisation on both paths
    model = get_peft_model(
        model,
        LoraConfig(
            r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"
        ),
    )
    model.train()
    frozen = sum(
        p.numel() * p.element_size()
        for p in model.parameters()
        if not p.requires_grad and type(p).__name__ != "Params4bit"
    )
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    vocab = model.config.vocab_size
    x = torch.randint(0, vocab, (rows, seq), generator=torch.Generator().manual_seed(1))
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if autocast else contextlib.nullcontext

    # Parameters that autograd saves (a Linear's weight) cost nothing extra; an autocast copy of
    # one (the bf16 copy of PEFT's fp32 lm_head) does, and is counted.
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, tuple[int, bool]] = {}

    def pack(t):  # count each storage once (views of one tensor share it)
        try:
            s = t.untyped_storage()
        except (RuntimeError, NotImplementedError):  # e.g. tensor subclasses without a plain storage
            return t
        if s.data_ptr() not in params:  # a vocab-sized dimension: the logits, their fp32 copies, lm_head
            saved[s.data_ptr()] = (s.nbytes(), vocab in t.shape)
        return t

    losses, times, cpu, resid = [], [], [], None
    for i in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        hooks = (
            torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
            if i == 0
            else contextlib.nullcontext()
        )
        with hooks, ctx():
            out = model(input_ids=x, labels=x, output_hidden_states=i == 0)
            loss = out.loss
        if i == 0:
            # the residual stream after block 1
            resid = str(out.hidden_states[1].dtype).removeprefix("torch.")
            del out
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    head = sum(n for n, is_head in saved.values() if is_head)
    return {
        "path": path,
        "frozen_unquantized_bytes": frozen,
        "saved_blocks_bytes": sum(n for n, _ in saved.values()) - head,
        "saved_head_bytes": head,
        "peak_rss_delta_bytes": peak - rss0,
        "ms_per_step": 1000 * statistics.median(times[2:] or times),
        "cpu_ms_per_step": 1000 * statistics.median(cpu[2:] or cpu),
        "residual_dtype": resid,
        "losses": losses,
        "threads": torch.get_num_threads(),
    }


def run_path(folder: Path, path: str, args: argparse.Namespace) -> dict:
    """One path in a fresh process, so that its peak RSS is its own."""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        path,
        "--folder",
        str(folder),
        "--steps",
        str(args.steps),
        "--rows",
        str(args.rows),
        "--seq",
        str(args.seq),
        "--threads",
        str(args.threads),
    ]
    if not args.autocast:
        cmd.append("--no-autocast")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{path} run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default="tiny,small", help=f"comma-separated, from {', '.join(SHAPES)}")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads in each run (see ms/step above)")
    ap.add_argument(
        "--no-autocast",
        dest="autocast",
        action="store_false",
        help="no bf16 autocast (how tuner itself trains on the CPU)",
    )
    ap.add_argument("--json", action="store_true", help="also print one JSON line per run")
    ap.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `core` when run as a script

    if args.worker:
        print(
            json.dumps(
                worker(args.folder, args.worker, args.steps, args.rows, args.seq, args.autocast, args.threads)
            )
        )
        return

    vocab = vocab_size()
    tmp = Path(tempfile.mkdtemp(prefix="kbit-upcast-"))
    rows_out = []
    try:
        for shape in args.shapes.split(","):
            folder = tmp / shape
            build_model(folder, shape, vocab)
            results = {path: run_path(folder, path, args) for path in PATHS}
            ref = results["upcast"]["losses"]
            for _path, r in results.items():
                r["shape"], r["max_abs_dloss"] = (
                    shape,
                    max(abs(a - b) for a, b in zip(r["losses"], ref, strict=True)),
                )
                rows_out.append(r)
                if args.json:
                    print(json.dumps(r))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    mode = "bf16 autocast" if args.autocast else "no autocast"
    print(
        f"\n{args.rows} × {args.seq} tokens, {args.steps} steps, {mode}, LoRA r=8 q/k/v/o, AdamW lr 1e-3, "
        f"vocab {vocab}, torch threads {rows_out[0]['threads']}, load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| model (layers × hidden) | path | frozen unquantized | residual stream | saved for backward: blocks + logits/lm_head | peak RSS Δ "
        "| CPU ms/step (wall) | loss first → last | max \\|Δ loss\\| vs upcast |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows_out:
        layers, hidden = SHAPES[r["shape"]][:2]
        print(
            f"| {r['shape']} ({layers} × {hidden}) | {r['path']} | {r['frozen_unquantized_bytes']:,} B "
            f"| {r['residual_dtype']} | {r['saved_blocks_bytes'] / 2**20:.1f} + {r['saved_head_bytes'] / 2**20:.1f} MiB | {r['peak_rss_delta_bytes'] / 2**20:.0f} MiB "
            f"| {r['cpu_ms_per_step']:.0f} ({r['ms_per_step']:.0f}) | {r['losses'][0]:.4f} → {r['losses'][-1]:.4f} | {r['max_abs_dloss']:.1e} |"
        )


if __name__ == "__main__":
    main()
