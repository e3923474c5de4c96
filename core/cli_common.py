"""What several `tuner` subcommands share: the --runs-dir argument, the console, quiet libraries."""

from __future__ import annotations

import argparse
import os
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


def console(stderr: bool = False) -> Any:
    """A rich console for command output (no auto-highlighting, long lines soft-wrapped)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def quiet_libraries() -> None:
    """Library chatter (progress bars, advisory warnings) goes to train.log, not the terminal."""
    import logging
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore")
    for name in ("transformers", "peft", "accelerate", "bitsandbytes", "datasets", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
