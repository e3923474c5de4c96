"""`tuner merge RUN_A RUN_B … --out NAME`: several runs' LoRA adapters merged into one run-like directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from core.cli_common import add_runs_dir, console, quiet_libraries


def cmd_merge(args: argparse.Namespace) -> int:
    """Merge the adapters through PEFT, then say where the result is and how to try it."""
    from core.adapter_merge import MergeRequest, merge_adapters, parse_weights

    quiet_libraries()
    req = MergeRequest(
        runs=args.runs,
        out=args.out,
        method=args.method,
        weights=parse_weights(args.weights) if args.weights else None,
        density=args.density,
        seed=args.seed,
        force=args.force,
        runs_root=Path(args.runs_dir) if args.runs_dir else None,
        device=args.device,
    )
    out = merge_adapters(req)
    con = console()
    con.print(f"[bold]merged[/] {len(args.runs)} adapters ({escape(args.method)}) → {escape(str(out))}")
    con.print(f"try it: tuner chat {escape(out.name)}   ·   tuner eval {escape(out.name)}")
    return 0


def add_merge_command(sub: argparse._SubParsersAction) -> None:
    """Register `tuner merge`."""
    from core.adapter_merge import METHODS

    mp = sub.add_parser(
        "merge",
        help="merge several runs' LoRA adapters into a new run (PEFT add_weighted_adapter)",
        description="Runs are named as elsewhere (path, name, prefix, latest), optionally RUN:CHECKPOINT.",
    )
    mp.add_argument("runs", nargs="+", metavar="RUN", help="runs whose adapters to merge (RUN[:checkpoint])")
    mp.add_argument("--out", required=True, metavar="NAME", help="the new run's name, under the runs folder")
    mp.add_argument(
        "--method", default="linear", choices=METHODS, help="PEFT combination type (default linear)"
    )
    mp.add_argument("--weights", metavar="W1,W2,…", help="one weight per run (default: equal, summing to 1)")
    mp.add_argument("--density", type=float, help="fraction of each adapter kept (ties, dare_*)")
    mp.add_argument("--seed", type=int, default=0, help="seed of dare_*'s random drop (default 0)")
    mp.add_argument("--force", action="store_true", help="replace an existing --out")
    mp.add_argument("--device", default="cpu", help="where to load the base while merging (default cpu)")
    add_runs_dir(mp)
    mp.set_defaults(func=cmd_merge)
