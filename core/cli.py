"""`tuner`: the headless command line. Each subcommand is a thin wrapper over a core module.

User mistakes (TunerError) print one red line and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from core.cli_common import add_runs_dir, console, quiet_libraries
from core.errors import EXIT_INTERRUPTED, TunerError


def cmd_presets(args: argparse.Namespace) -> int:
    """tuner presets list | show NAME | validate [FILES…]"""
    from core.config import loader

    con = console()
    if args.action == "list":
        from rich.table import Table

        table = Table("name", "origin", "model", "adapter", "description", box=None, pad_edge=False)
        for pf in loader.list_presets():
            try:
                p, _ = loader.load_preset(pf.path)
                adapter = (
                    ("qlora" if p.quant.bits == 4 else p.train.adapter)
                    if p.train.adapter == "lora"
                    else "full"
                )
                table.add_row(
                    pf.name, "shipped" if pf.shipped else "user", p.model.id, adapter, p.description
                )
            except TunerError as e:
                table.add_row(
                    pf.name,
                    "shipped" if pf.shipped else "user",
                    "[red]invalid[/]",
                    "",
                    escape(str(e).splitlines()[0]),
                )
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
            empty = (
                Path(ref).is_file() and not Path(ref).read_text(encoding="utf-8", errors="replace").strip()
            )
            con.print(
                f"[green]ok[/]      {ref}"
                + (" [dim](empty: every setting is the default)[/]" if empty else "")
            )
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
    con = console()
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


def cmd_run(args: argparse.Namespace) -> int:
    """tuner run [PRESET] [--set k=v] [--max-steps N] [--resume RUN|latest] [--seeds LIST | --sweep k=v1,v2 …]"""
    quiet_libraries()
    if args.preset and args.resume:
        raise TunerError(
            "give a preset or --resume, not both", kind="config", hint="a resumed run uses its own preset"
        )
    if args.seeds and args.then:
        raise TunerError(
            "--then and --seeds cannot be combined", kind="config", hint="run the phases per seed"
        )
    hints = {
        "--seeds": "sweep the seed instead: --sweep train.seed=1,2,3",
        "--resume": "the same --sweep command again resumes the sweep",
        "--then": "sweep each phase on its own",
    }
    for flag, given in (("--seeds", args.seeds), ("--resume", args.resume), ("--then", args.then)):
        if args.sweep and given:
            raise TunerError(f"--sweep and {flag} cannot be combined", kind="config", hint=hints[flag])
    if args.sweep or args.seeds:
        return _run_grid(args)
    if args.then:
        return _run_phases(args)
    return _run_once(args, args.set).exit_code


def _run_phases(args: argparse.Namespace) -> int:
    """`tuner run A --then B …`: one run per phase, in order, each starting from the one before."""
    from core.config.loader import load_preset
    from core.train.init_from import link_to_previous

    for ref in args.then:  # a config error in any phase stops before the first trains
        load_preset(ref, args.set)
    phases = [f"--resume {args.resume}" if args.resume else args.preset or "quickstart", *args.then]
    previous: Path | None = None
    for i, ref in enumerate(phases):
        console().print(f"[bold]phase {i + 1}/{len(phases)}[/]: {escape(ref)}")
        if i == 0:
            outcome = _run_once(args, args.set)
        else:
            assert previous is not None  # the phase before finished
            link = link_to_previous(load_preset(ref, args.set)[0].model.init_from, previous)
            phase = argparse.Namespace(**{**vars(args), "preset": ref, "resume": None})
            outcome = _run_once(phase, [*args.set, *link])
        code = outcome.exit_code
        if not code and i < len(phases) - 1 and _stopped_by_time_budget(outcome.run_dir):
            code = EXIT_INTERRUPTED  # the next phase would start from a phase cut short
        if code:
            rest = " ".join(f"--then {r}" for r in args.then[i:])
            if outcome.run_dir is not None and code == EXIT_INTERRUPTED:
                console(stderr=True).print(
                    f"phase {i + 1} stopped: continue with tuner run --resume {outcome.run_dir.name} {rest}"
                )
            return code
        previous = outcome.run_dir
    return 0


def _stopped_by_time_budget(run_dir: Path | None) -> bool:
    """True when the run ended at train.time_budget (finished early, not at its planned end)."""
    from core.run_status import fold_event_file
    from core.runs import EVENTS_FILE

    final = fold_event_file(run_dir / EVENTS_FILE).final if run_dir is not None else None
    return bool(final and final.get("reason") == "time_budget")


def _run_once(args: argparse.Namespace, overrides: list[str], hook: Callable[[dict], None] | None = None):
    """One training run with a live display (and `hook` on each event); reports its error and directory (rank 0 only)."""
    from core.train.display import RunDisplay
    from core.train.run import RunRequest, dist_info, run_training

    display = RunDisplay(console())

    def on_event(record: dict) -> None:
        display(record)
        if hook is not None:
            hook(record)

    try:
        outcome = run_training(
            RunRequest(
                args.preset,
                overrides,
                args.max_steps,
                args.resume,
                Path(args.runs_dir) if args.runs_dir else None,
                smoke=args.smoke,
            ),
            on_event=on_event,
        )
    finally:
        display.close()
    if dist_info()[0] != 0:
        return outcome  # under a multi-process launch, rank 0 reports
    if outcome.error:
        console(stderr=True).print(f"[bold red]error:[/] {escape(outcome.error)}")
    if outcome.run_dir is not None:
        console().print(f"run directory: {outcome.run_dir}")
    return outcome


def parse_seeds(text: str) -> list[int]:
    """ "1,2,3" or "1-5" (or a mix) → seeds in order, without repeats."""
    seeds: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            lo, _, hi = part.partition("-")
            seeds.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
    except ValueError:
        raise TunerError(
            f"--seeds {text!r} is not a list of integers",
            kind="config",
            hint="e.g. --seeds 1,2,3 or --seeds 1-5",
        ) from None
    if not seeds:
        raise TunerError("--seeds is empty", kind="config", hint="e.g. --seeds 1,2,3")
    return list(dict.fromkeys(seeds))


def _run_grid(args: argparse.Namespace) -> int:
    """--sweep (the grid, resumable, core/sweep.py) or --seeds (one run per seed): points in sequence, one summary."""
    from core import sweep
    from core.runs import runs_root

    if args.seeds and args.resume:
        raise TunerError(
            "--seeds starts new runs; it cannot be combined with --resume",
            kind="config",
            hint="resume each seed's run on its own: tuner run --resume RUN",
        )
    ref = args.preset or "quickstart"
    if args.sweep:
        plan = sweep.plan_sweep(ref, args.set, args.sweep, args.max_steps, args.smoke)
    else:
        plan = sweep.plan_seeds(ref, args.set, parse_seeds(args.seeds), args.smoke)

    def run_point(overrides: list[str], resume: Path | None, hook: Callable[[dict], None]):
        where = {"preset": None, "resume": str(resume)} if resume else {"preset": ref, "resume": None}
        point = argparse.Namespace(**{**vars(args), **where})
        return _run_once(point, overrides, hook)

    return sweep.run_plan(plan, run_point, Path(args.runs_dir) if args.runs_dir else runs_root(), console())


def cmd_runs(args: argparse.Namespace) -> int:
    """tuner runs: every run with its status, progress and best val loss."""
    from rich.table import Table

    from core.runs import list_runs
    from core.units import fmt_seconds

    con = console()
    if args.sweep:
        from core.runs import runs_root
        from core.sweep import show_sweep

        return show_sweep(con, Path(args.runs_dir) if args.runs_dir else runs_root(), args.sweep)
    runs = list_runs(Path(args.runs_dir) if args.runs_dir else None)
    if not runs:
        con.print("no runs yet: start one with `tuner run`")
        return 0
    colors = {"running": "cyan", "finished": "green", "failed": "red", "interrupted": "yellow"}
    table = Table(box=None)
    # The run name is what people type for --resume / chat / eval: never cut it; the model may wrap.
    table.add_column("run", no_wrap=True, min_width=max(len(r.name) for r in runs))
    for col, width in (("status", 11), ("steps", 7), ("loss", 6), ("best val", 8)):
        table.add_column(col, no_wrap=True, min_width=width)
    table.add_column("updated", no_wrap=True, min_width=10)
    table.add_column("model", no_wrap=True, overflow="ellipsis")  # the column that gives way when narrow
    import time

    for r in runs:
        steps = f"{r.step or 0}/{r.max_steps}" if r.max_steps else str(r.step or 0)
        loss = f"{r.last_loss:.4f}" if r.last_loss is not None else "–"
        best = f"{r.best_val_loss:.4f}" if r.best_val_loss is not None else "–"
        ago = fmt_seconds(time.time() - r.updated) + " ago" if r.updated else "–"
        status = "stopping" if r.stopping else r.status
        table.add_row(
            escape(r.name),
            f"[{colors.get(r.status, 'white')}]{status}[/]",
            steps,
            loss,
            best,
            ago,
            escape(r.model or "–"),
        )
    con.print(table, soft_wrap=False)
    for r in runs:
        for problem in r.problems:  # a damaged file is named, not hidden behind "interrupted"
            con.print(f"[yellow]{escape(r.name)}: {escape(problem)}[/]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(
        prog="tuner", description="Fine-tune causal LMs headless; see also tuner-tui."
    )
    sub = p.add_subparsers(dest="command", required=True)

    def add_set(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a preset key, e.g. train.lr=1e-4",
        )

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

    ru = sub.add_parser("run", help="fine-tune: a preset name or file (default: quickstart)")
    ru.add_argument("preset", nargs="?")
    add_set(ru)
    ru.add_argument("--max-steps", type=int)
    ru.add_argument("--resume", metavar="RUN", help="a run directory, name, or 'latest'")
    add_runs_dir(ru)
    ru.add_argument(
        "--seeds", metavar="LIST", help="one run per seed, in sequence: 1,2,3 or 1-5; then a summary"
    )
    ru.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a grid: one run per combination of the values (repeat for more keys), then a summary; "
        "the same command again resumes it",
    )
    ru.add_argument(
        "--then",
        action="append",
        default=[],
        metavar="PRESET",
        help="after this run, run PRESET starting from it (model.init_from); repeatable, --set applies to all",
    )
    ru.add_argument(
        "--smoke",
        action="store_true",
        help="the preset's code path for ~10 steps on a tiny model of its family, offline, on the CPU",
    )
    ru.set_defaults(func=cmd_run)

    rs = sub.add_parser("runs", help="list runs: status, steps, best val loss")
    add_runs_dir(rs)
    rs.add_argument("--sweep", metavar="ID", help="a sweep's summary table (its id, a prefix, or 'latest')")
    rs.set_defaults(func=cmd_runs)

    from core.cli_inference import add_inference_commands

    add_inference_commands(sub)
    from core.cli_merge import add_merge_command

    add_merge_command(sub)
    from core.cli_export import add_export_command

    add_export_command(sub)
    from core.cli_doctor import add_doctor_command

    add_doctor_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tuner` console script."""
    if sys.platform == "darwin":
        # Before torch loads: ops MPS lacks run on the CPU instead of failing the run.
        os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TunerError as e:
        con = console(stderr=True)
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
