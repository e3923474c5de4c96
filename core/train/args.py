"""Preset → transformers.TrainingArguments: the one place where our keys meet the Trainer's."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from core.config.schema import Preset


def report_to(preset: Preset) -> list[str]:
    """W&B only when a project is set, a key is present and wandb is installed; never anything else."""
    if preset.log.wandb_project and os.environ.get("WANDB_API_KEY") and importlib.util.find_spec("wandb"):
        os.environ.setdefault("WANDB_PROJECT", preset.log.wandb_project)
        os.environ.setdefault("WANDB_LOG_MODEL", "false")
        return ["wandb"]
    return []


def training_arguments(
    preset: Preset,
    output_dir: Path,
    device: str,
    autocast: Any,
    max_steps: int,
    *,
    has_eval: bool,
    xla_spmd: bool = False,
    resuming: bool = False,
):
    """TrainingArguments for a preset; batches are pre-built, so the DataLoader batch size is 1.

    `autocast`: the mixed-precision dtype from core.device.precision_policy (None: none).

    `xla_spmd`: several XLA cores in one process: the Trainer's FSDPv2 shards the weights and each
    batch over them (its own layer checkpointing replaces ours there).
    """
    import torch
    from transformers import TrainingArguments

    t, e = preset.train, preset.eval
    mixed = device != "cpu" and autocast in (torch.bfloat16, torch.float16)
    bf16, fp16 = mixed and autocast == torch.bfloat16, mixed and autocast == torch.float16
    # With both flags off, TrainingArguments takes ACCELERATE_MIXED_PRECISION (from `accelerate launch
    # --mixed_precision` or a saved accelerate config) instead: the precision rule decides, not the launcher.
    os.environ["ACCELERATE_MIXED_PRECISION"] = "bf16" if bf16 else "fp16" if fp16 else "no"
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=1,
        per_device_eval_batch_size=1,
        gradient_accumulation_steps=t.grad_accum,
        max_steps=max_steps,
        learning_rate=t.lr,
        lr_scheduler_type=t.scheduler,
        warmup_steps=t.warmup_ratio,  # a float in [0, 1) is a ratio of max_steps
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        optim=t.optimizer,
        bf16=bf16,
        fp16=fp16,
        # Only LoRA weights train and every one of them is used: DDP's search for unused
        # parameters would walk the graph each step for nothing.
        ddp_find_unused_parameters=False if t.adapter != "full" else None,
        # On XLA, torch.utils.checkpoint looks up a `torch.xla` module that does not exist:
        # core.models.build switches the layers to torch_xla's checkpoint instead.
        gradient_checkpointing=t.gradient_checkpointing and device != "xla",
        gradient_checkpointing_kwargs={"use_reentrant": False} if t.gradient_checkpointing else None,
        torch_compile=t.torch_compile,
        logging_strategy="steps",
        logging_steps=preset.log.every,
        logging_nan_inf_filter=False,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=e.every,
        # the "before" side of before/after; a resume continues a run that has it (the Trainer would
        # evaluate again at every resume: minutes on a large model, a duplicate point on the curves)
        eval_on_start=has_eval and e.before_training and not resuming,
        save_strategy="steps",
        save_steps=t.save_every,
        save_total_limit=t.save_limit,
        metric_for_best_model="eval_loss" if has_eval else None,
        greater_is_better=False if has_eval else None,
        report_to=report_to(preset),
        run_name=preset.log.run_name or preset.name,
        seed=t.seed,
        data_seed=t.seed,
        use_cpu=device == "cpu",
        dataloader_num_workers=t.num_workers,
        dataloader_pin_memory=device == "cuda",
        remove_unused_columns=False,
        disable_tqdm=True,
        include_num_input_tokens_seen="no",
        fsdp="full_shard" if xla_spmd else "",
        fsdp_config={"xla": True, "xla_fsdp_v2": True, "xla_fsdp_grad_ckpt": t.gradient_checkpointing}
        if xla_spmd
        else None,
    )
