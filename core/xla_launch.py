"""`python -m core.xla_launch run PRESET …`: `tuner run` on every core of a TPU through torch_xla.launch.

torch_xla's supported multi-core path (PJRT) starts one process per device; the Trainer then
runs data-parallel over them. The run directory is created here, once, before the processes
start, and handed to them in TUNER_RUN_DIR, so events and checkpoints are written once (by the
master ordinal).
"""

from __future__ import annotations

import os
import sys


def _mp_fn(index: int, argv: list[str]) -> None:
    import torch_xla.runtime as xr

    os.environ["RANK"] = str(xr.global_ordinal())
    os.environ["LOCAL_RANK"] = str(xr.local_ordinal())
    os.environ["WORLD_SIZE"] = str(xr.world_size())
    from core.cli import main

    code = main(argv)
    if code:
        raise SystemExit(code)


def main(argv: list[str] | None = None) -> int:
    """Create the run dir, then spawn one training process per XLA device."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "run":
        print("usage: python -m core.xla_launch run PRESET [tuner run options]", file=sys.stderr)
        return 2
    os.environ.setdefault("PJRT_DEVICE", "TPU")
    from core.cli import build_parser
    from core.config.loader import load_preset
    from core.runs import create_run_dir

    args = build_parser().parse_args(argv)
    if not args.resume:
        preset, _ = load_preset(args.preset or "quickstart", args.set)
        if args.smoke:
            from core.train.smoke import smoke_preset

            preset = smoke_preset(preset, "xla")
        from pathlib import Path

        os.environ["TUNER_RUN_DIR"] = str(create_run_dir(preset, Path(args.run_dir) if args.run_dir else None))
    import torch_xla

    torch_xla.launch(_mp_fn, args=(argv,))
    return 0


if __name__ == "__main__":
    sys.exit(main())
