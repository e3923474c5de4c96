"""gpu_check.py's shared context: mode, folders, time budget, the model shapes and the quiet run settings."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from gpu_check_lib import ROOT, Proc, run_tuner

# Qwen2.5-7B (and Qwen2.5-Coder-7B-Instruct, the qwen-qlora preset's model): config.json on the Hub.
QWEN25_7B = dict(
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    vocab_size=152064,
    max_position_embeddings=32768,
    rope_theta=1e6,
    rms_norm_eps=1e-6,
    tie_word_embeddings=False,
)
# --cpu: same family and vocabulary, tiny body (bitsandbytes' CPU 4-bit kernels want multiples of 64).
TINY_QWEN = {
    **QWEN25_7B,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 512,
}
# Settings that keep a measured run to its training steps: no evaluation, samples or checkpoints.
QUIET = [
    "eval.before_training=false",
    "eval.every=100000",
    "eval.sample_every=100000",
    "eval.exact_match_rows=0",
    "train.save_every=100000",
    "log.every=1",
]


@dataclass
class Ctx:
    """What every section needs: mode, folders, options."""

    cpu: bool
    out: Path
    work: Path
    presets: list[str] | None
    qlora_steps: tuple[int, int]
    large_budget: tuple[int, int]  # (max_tokens_per_batch, micro_batch_size) of the second QLoRA run
    smoke_steps: int | None = None  # --max-steps of the first smoke run (None: the smoke's own 10)
    deadline: float = math.inf  # time.monotonic() after which no section or smoke run starts (--budget-s)

    def left(self) -> float:
        """Seconds of the time budget left (inf without one)."""
        return self.deadline - time.monotonic()

    @property
    def device(self) -> str:
        """cuda, or cpu in --cpu mode."""
        return "cpu" if self.cpu else "cuda"

    @property
    def logs(self) -> Path:
        """Where subprocess output goes."""
        return self.out / "logs"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of a tuner subprocess: temp run/data folders, offline, no W&B."""
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            TUNER_DATA_DIR=str(self.work / "data"),
            TUNER_RUNS_DIR=str(self.work / "runs"),
            HF_HUB_OFFLINE="1",
            HF_DATASETS_OFFLINE="1",
            TOKENIZERS_PARALLELISM="false",
        )
        env.pop("WANDB_API_KEY", None)
        if self.cpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        env.update(extra)
        return env


def tuner(
    ctx: Ctx, label: str, args: list[str], env: dict[str, str] | None = None, timeout: int = 900
) -> Proc:
    """`tuner run ARGS` in a subprocess (log in logs/LABEL.log), cut off where the time budget ends."""
    return run_tuner(args, env or ctx.env(), ctx.logs / f"{label}.log", int(min(timeout, ctx.left() + 60)))


def target_device(ctx: Ctx, own: str) -> str:
    """The device a preset's smoke run asks for here: its own (xla/mps are refused off their machines); CPU in --cpu mode."""
    if ctx.cpu and own in ("cuda", "auto"):
        return "cpu"
    return own


def write_smoke_preset(ctx: Ctx, name: str) -> Path:
    """The preset's smoke shrink (core.train.smoke) as a TOML file, with the preset's own device kept.

    `tuner run PRESET --smoke` falls back to the CPU when the preset's device is absent; this file
    keeps the preset's device, so an absent one is refused and recorded as skipped, with its reason.
    """
    from core.config.loader import dump_preset, load_preset
    from core.train.smoke import smoke_preset

    preset, _ = load_preset(name)
    smoke = smoke_preset(preset, "cpu")
    smoke.model.device = target_device(ctx, preset.model.device)
    path = ctx.work / "presets" / f"{smoke.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_preset(smoke))
    return path
