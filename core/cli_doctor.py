"""`tuner doctor [--quick | --full] [--json] [PRESET ...]`: can this machine run these presets?

Exit status 1 when any check failed, else 0. `--json` prints the checks for the TUI and scripts.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_doctor(args: argparse.Namespace) -> int:
    from rich.console import Console

    from core.doctor import DEFAULT_TIMEOUT_S, render_report, run_doctor

    timeout = args.timeout if args.timeout is not None else DEFAULT_TIMEOUT_S
    if args.json:
        report = run_doctor(args.presets, full=args.full, timeout=timeout)
        sys.stdout.write(report.to_json() + "\n")
        return report.exit_code
    con = Console(highlight=False, soft_wrap=False)
    err = Console(stderr=True, highlight=False)
    if err.is_terminal:
        with err.status("[dim]checking…[/]") as status:
            report = run_doctor(
                args.presets,
                full=args.full,
                timeout=timeout,
                on_check=lambda c: status.update(f"[dim]checking… {c.section}: {c.name}[/]"),
            )
    else:
        report = run_doctor(args.presets, full=args.full, timeout=timeout)
    render_report(con, report)
    return report.exit_code


def add_doctor_command(sub: Any) -> None:
    """Register `doctor` on the `tuner` subparsers."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    dr = sub.add_parser(
        "doctor",
        help="check Python, packages, devices, disk, the Hub, caches and presets before a run",
        description="Check this machine for tuner and for presets (all presets, or the ones named). "
        "Exit status 1 when a check fails.",
    )
    mode = dr.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        action="store_true",
        help="local checks plus one Hub probe, no model loading (default; a few seconds)",
    )
    mode.add_argument(
        "--full",
        action="store_true",
        help="also load cached tokenizers/configs, query the Hub and stream one row per streaming source",
    )
    dr.add_argument("--json", action="store_true", help="print the checks as JSON")
    dr.add_argument(
        "--timeout", type=seconds, metavar="S", help="per network call / load in --full (default 30)"
    )
    dr.add_argument(
        "presets", nargs="*", metavar="PRESET", help="preset names or files (default: every preset)"
    )
    dr.set_defaults(func=cmd_doctor)
