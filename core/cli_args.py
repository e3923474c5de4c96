"""Arguments shared by several `tuner` subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

RUNS_DIR_HELP = "the folder that holds run directories (default ./runs or TUNER_RUNS_DIR)"


class _DeprecatedRunDir(argparse.Action):
    """`--run-dir`, the old name of `--runs-dir`: still accepted, with one line saying so."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None
    ) -> None:
        print(
            "tuner: --run-dir is deprecated: it is the folder that holds runs, now called --runs-dir",
            file=sys.stderr,
        )
        namespace.runs_dir = values


def add_runs_dir(parser: argparse.ArgumentParser) -> None:
    """`--runs-dir DIR`, plus the hidden deprecated alias `--run-dir`."""
    parser.add_argument("--runs-dir", metavar="DIR", help=RUNS_DIR_HELP)
    parser.add_argument("--run-dir", action=_DeprecatedRunDir, dest="runs_dir", help=argparse.SUPPRESS)
