"""`tuner`: the headless command line. Each subcommand is a thin wrapper over a core module.

User mistakes (TunerError) print one red line and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.markup import escape

from core.errors import TunerError


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def cmd_presets(args: argparse.Namespace) -> int:
    """tuner presets list | show NAME | validate [FILES…]"""
    from core.config import loader

    con = _console()
    if args.action == "list":
        from rich.table import Table

        table = Table("name", "origin", "model", "adapter", "description", box=None, pad_edge=False)
        for pf in loader.list_presets():
            try:
                p, _ = loader.load_preset(pf.path)
                adapter = ("qlora" if p.quant.bits == 4 else p.train.adapter) if p.train.adapter == "lora" else "full"
                table.add_row(pf.name, "shipped" if pf.shipped else "user", p.model.id, adapter, p.description)
            except TunerError as e:
                table.add_row(pf.name, "shipped" if pf.shipped else "user", "[red]invalid[/]", "", escape(str(e).splitlines()[0]))
        con.print(table)
        return 0
    if args.action == "show":
        preset, path = loader.load_preset(args.preset, args.set)
        con.print(f"[bold]{preset.name}[/]  ({path})")
        if preset.follows:
            con.print(f"follows: {preset.follows}")
        con.print(loader.dump_preset(preset), markup=False)
        from core.estimate import render_estimate

        render_estimate(con, preset)
        return 0
    # validate
    targets = args.presets or [str(pf.path) for pf in loader.list_presets()]
    failed = 0
    for ref in targets:
        try:
            loader.load_preset(ref, args.set)
            con.print(f"[green]ok[/]      {ref}")
        except TunerError as e:
            failed += 1
            for line in str(e).splitlines():
                con.print(f"[red]invalid[/] {escape(line)}")
    return 1 if failed else 0


def cmd_data(args: argparse.Namespace) -> int:
    """tuner data build | preview PRESET"""
    from core.config.loader import load_preset
    from core.data.build import build_data

    preset, path = load_preset(args.preset, args.set)
    con = _console()
    if args.action == "build":
        import time

        t = time.perf_counter()
        dd = build_data(preset, path.parent, out=Path(args.out) if args.out else None, force=args.force)
        took = time.perf_counter() - t
        from core.data.preview import render_report

        render_report(con, dd)
        state = "cached, unchanged" if dd.cached else "built"
        con.print(f"[bold]{state}[/] in {took:.2f} s → {dd.path}")
        con.print(f"data hash: {dd.data_hash}")
        return 0
    from core.data.preview import render_preview

    dd = build_data(preset, path.parent)
    render_preview(con, preset, dd, rows=args.rows, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="tuner", description="Fine-tune causal LMs headless; see also tuner-tui.")
    sub = p.add_subparsers(dest="command", required=True)

    def add_set(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a preset key, e.g. train.lr=1e-4")

    pr = sub.add_parser("presets", help="list, show or validate presets")
    pr_sub = pr.add_subparsers(dest="action", required=True)
    pr_sub.add_parser("list", help="shipped and user presets")
    show = pr_sub.add_parser("show", help="a preset, resolved, with its memory estimate")
    show.add_argument("preset")
    add_set(show)
    val = pr_sub.add_parser("validate", help="validate preset files (all presets if none given)")
    val.add_argument("presets", nargs="*")
    add_set(val)
    pr.set_defaults(func=cmd_presets)

    da = sub.add_parser("data", help="build or preview a preset's dataset")
    da_sub = da.add_subparsers(dest="action", required=True)
    b = da_sub.add_parser("build", help="clean, split, decontaminate, augment; write the data directory")
    b.add_argument("preset")
    b.add_argument("--out", help="write here instead of the cache folder")
    b.add_argument("--force", action="store_true", help="rebuild even if an identical build exists")
    add_set(b)
    pv = da_sub.add_parser("preview", help="sample rows, counts, token lengths, augmentation examples")
    pv.add_argument("preset")
    pv.add_argument("--rows", type=int, default=8)
    pv.add_argument("--seed", type=int, default=0)
    add_set(pv)
    da.set_defaults(func=cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tuner` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TunerError as e:
        con = _console(stderr=True)
        lines = str(e).splitlines() or [repr(e)]
        for line in lines:
            con.print(f"[bold red]error:[/] {escape(line)}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `tuner … | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
