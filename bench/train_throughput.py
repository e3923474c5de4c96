"""Real (non-pad) training tokens/s on the CPU: tuner vs the user's Axolotl-style config vs TRL packing.

Same model (embedded SmolLM2-135M-Instruct, fp32), same LoRA (r=8, alpha=16, dropout 0.05, q/k/v/o),
same data (the bundled set's train split in the chat template), same machine and threads. Only
the batching differs:

  hf-pad512  transformers Trainer, every row padded to 512 tokens, micro batch 1 x accumulation 4
             (the user's Training Specification config: pad_to_sequence_len, sample_packing false)
  trl        a plain TRL SFTTrainer script, packing=True with its best strategy ("bfd"), max_length 512
  tuner      `tuner run` with its default batching (set --batching to compare strategies)

Usage: .venv/bin/python bench/train_throughput.py MODE [--steps 30] [--warmup 5] [--batching length_grouped]
Prints one JSON line: mode, real tokens/s, steps/s, padded fraction, achieved GFLOP/s (4N per real token).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

LORA = dict(
    r=8,
    lora_alpha=16,
    lora_dropout=0.05,
    target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
    task_type="CAUSAL_LM",
)


def train_rows():
    from core.config.loader import load_preset
    from core.data.build import build_data

    preset, _ = load_preset("quickstart")
    return build_data(preset).split("train")


def base_model():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.embedded import converted_dir

    path = converted_dir()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.config.use_cache = False
    return model, tok


class Timer:
    """A TrainerCallback-compatible step timer that skips warmup steps."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.t0, self.steps = warmup, None, 0

    def step_end(self, step: int) -> None:
        if step == self.warmup:
            self.t0 = time.perf_counter()
        elif step > self.warmup:
            self.steps += 1


def run_hf(mode: str, steps: int, warmup: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from core.data.formatting import encode_example, resolve_style

    model, tok = base_model()
    model = get_peft_model(model, LoraConfig(**LORA))
    style = resolve_style(tok)
    rows = [encode_example(tok, r.instruction, r.command, style) for r in train_rows()]
    counter = {"real": 0, "padded": 0}
    timer = Timer(warmup)

    if mode == "hf-pad512":
        data = [{"input_ids": e.input_ids, "labels": e.labels} for e in rows]

        def collate(batch):
            ids = torch.full((len(batch), 512), tok.pad_token_id)
            labels = torch.full((len(batch), 512), -100)
            mask = torch.zeros((len(batch), 512), dtype=torch.long)
            for i, b in enumerate(batch):
                n = len(b["input_ids"])
                ids[i, :n], labels[i, :n], mask[i, :n] = (
                    torch.tensor(b["input_ids"]),
                    torch.tensor(b["labels"]),
                    1,
                )
            if timer.t0 is not None:
                counter["real"] += int(mask.sum())
                counter["padded"] += mask.numel()
            return {"input_ids": ids, "labels": labels, "attention_mask": mask}

        bs, accum = 1, 4
    else:
        raise SystemExit(f"unknown mode {mode}")

    class CB(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            timer.step_end(state.global_step)

    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=bs,
        gradient_accumulation_steps=accum,
        max_steps=steps + warmup,
        learning_rate=2e-4,
        lr_scheduler_type="cosine",
        warmup_steps=0.1,
        logging_steps=10**6,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        remove_unused_columns=False,
        disable_tqdm=True,
        seed=42,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collate, callbacks=[CB()])
    trainer.train()
    seconds = time.perf_counter() - timer.t0
    return {
        "real_tokens": counter["real"],
        "seconds": seconds,
        "steps": timer.steps,
        "padded_fraction": 1 - counter["real"] / max(1, counter["padded"]),
    }


def run_trl(steps: int, warmup: int) -> dict:
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    model, tok = base_model()
    rows = train_rows()
    ds = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": r.instruction}],
                "completion": [{"role": "assistant", "content": r.command}],
            }
            for r in rows
        ]
    )
    timer = Timer(warmup)
    counter = {"real": 0, "padded": 0}

    class CB(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            timer.step_end(state.global_step)

    cfg = SFTConfig(
        output_dir=tempfile.mkdtemp(),
        packing=True,
        packing_strategy="bfd",
        max_length=512,
        per_device_train_batch_size=1,
        gradient_accumulation_steps=1,
        max_steps=steps + warmup,
        learning_rate=2e-4,
        lr_scheduler_type="cosine",
        warmup_steps=0.1,
        logging_steps=10**6,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=42,
        completion_only_loss=True,
    )
    trainer = SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=ds,
        processing_class=tok,
        peft_config=LoraConfig(**LORA),
        callbacks=[CB()],
    )
    inner = trainer.data_collator

    def counting(batch):
        out = inner(batch)
        if timer.t0 is not None:
            n = int(out["input_ids"].numel())
            pad = int((out.get("attention_mask", None) == 0).sum()) if "attention_mask" in out else 0
            counter["real"] += n - pad
            counter["padded"] += n
        return out

    trainer.data_collator = counting
    trainer.train()
    seconds = time.perf_counter() - timer.t0
    return {
        "real_tokens": counter["real"],
        "seconds": seconds,
        "steps": timer.steps,
        "padded_fraction": 1 - counter["real"] / max(1, counter["padded"]),
    }


def run_tuner(steps: int, warmup: int, batching: str, micro: int, max_tokens: int) -> dict:
    from core.events import read_events
    from core.train.run import RunRequest, run_training

    root = Path(tempfile.mkdtemp())
    overrides = [
        "lora.r=8",
        "lora.alpha=16",
        "lora.dropout=0.05",
        'lora.target_modules=["q_proj","k_proj","v_proj","o_proj"]',
        "train.lr=2e-4",
        f"train.batching={batching}",
        f"train.micro_batch_size={micro}",
        f"train.max_tokens_per_batch={max_tokens}",
        "train.grad_accum=1",
        "train.save_every=100000",
        "log.every=1",
        "eval.every=100000",
        "eval.sample_every=100000",
        "eval.exact_match_rows=0",
    ]
    out = run_training(RunRequest("quickstart", overrides, steps + warmup, runs_root=root))
    evs = [e for e in read_events(out.run_dir / "events.jsonl") if e["type"] == "step" and e["step"] > warmup]
    tokens = sum(e["tokens"] for e in evs)
    seconds = sum(e["tokens"] / e["tokens_per_s"] for e in evs if e["tokens_per_s"])
    return {"real_tokens": tokens, "seconds": seconds, "steps": len(evs), "padded_fraction": None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["hf-pad512", "trl", "tuner"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batching", default="length_grouped")
    ap.add_argument("--micro", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument(
        "--peak-gflops", type=float, default=None, help="measured fp32 matmul peak (bench/matmul_peak.py)"
    )
    args = ap.parse_args()
    os.environ.setdefault("TUNER_DATA_DIR", tempfile.mkdtemp())
    import torch

    if args.mode == "tuner":
        res = run_tuner(args.steps, args.warmup, args.batching, args.micro, args.max_tokens)
    elif args.mode == "trl":
        res = run_trl(args.steps, args.warmup)
    else:
        res = run_hf(args.mode, args.steps, args.warmup)
    n_params = 134_515_008  # SmolLM2-135M (tied embeddings counted once)
    tps = res["real_tokens"] / res["seconds"]
    out = {
        "mode": args.mode,
        "batching": args.batching if args.mode == "tuner" else None,
        "threads": torch.get_num_threads(),
        "real_tokens_per_s": round(tps, 1),
        "steps_per_s": round(res["steps"] / res["seconds"], 3),
        "padded_fraction": res["padded_fraction"],
        "gflops": round(4 * n_params * tps / 1e9, 1),
    }
    if args.peak_gflops:
        out["mfu"] = round(out["gflops"] / args.peak_gflops, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
