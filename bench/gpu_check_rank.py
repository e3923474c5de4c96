"""torchrun worker for bench/gpu_check.py's ddp section: `tuner run ARGS…` on this rank, then the step it stopped at.

Events are written by rank 0 only, so the other ranks' final step is not in the run directory:
each rank writes OUT/rank<N>.json (rank, exit code, final global step, process-group backend).

Usage (under torchrun): bench/gpu_check_rank.py OUT_DIR run PRESET [tuner run flags…]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Run the tuner CLI with the Trainer's final step recorded, then write this rank's summary."""
    out, argv = Path(sys.argv[1]), sys.argv[2:]
    from transformers import Trainer

    try:  # the Trainer tuner uses; fall back to transformers' own if the class moved
        from core.train.trainer import TunerTrainer as cls
    except ImportError:
        cls = Trainer
    seen: dict[str, int] = {}
    original = cls.train

    def train(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            seen["step"] = self.state.global_step

    cls.train = train
    from core.cli import main as cli

    code = cli(argv)
    import torch.distributed as dist

    backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else None
    rank = int(os.environ.get("RANK", 0))
    record = {
        "rank": rank,
        "exit_code": code,
        "step": seen.get("step"),
        "backend": backend,
        "world_size": int(os.environ.get("WORLD_SIZE", 1)),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(record))
    return code


if __name__ == "__main__":
    sys.exit(main())
