"""train.log: what the terminal showed, plus warnings and tracebacks from tuner and the HF libraries.

A full disk must not turn logging into a second failure: a write that fails is dropped (the
run's failure is reported on the terminal and in events.jsonl when there is room), never a
"--- Logging error ---" traceback on the terminal.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.runs import LOG_FILE
from core.secrets import scrub

LOGGERS = ("tuner", "transformers", "peft", "accelerate")  # what train.log collects


class _Scrub(logging.Filter):
    """Secrets masked before a record reaches the file."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(str(record.getMessage()))
        record.args = ()
        return True


class RunLogHandler(logging.FileHandler):
    """A FileHandler that stops writing, quietly, once a write fails (disk full, quota)."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self.failed = True  # logging would print a traceback per record to stderr

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # flushing the last lines onto a full disk
            self.failed = True


def setup_log(run_dir: Path, enabled: bool) -> logging.Handler | None:
    """Send the run's log records to <run>/train.log (rank 0 only)."""
    if not enabled:
        return None
    handler = RunLogHandler(run_dir / LOG_FILE, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Scrub())
    try:  # transformers prints through its own stderr handler: send its records to train.log only
        from transformers.utils import logging as hf_logging

        hf_logging.disable_default_handler()
        hf_logging.set_verbosity_warning()
    except ImportError:
        pass
    logging.getLogger("tuner").setLevel(logging.INFO)
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    return handler


def close_log(handler: logging.Handler) -> None:
    """Detach and close: a closed FileHandler left attached would reopen this run's log for the next run."""
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(handler)
    handler.close()
