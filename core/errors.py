"""User-facing errors: one clear line, what went wrong and how to fix it."""

from __future__ import annotations

# `tuner run`'s exit codes (docs/run-directory.md): scripts tell a resumable stop from a finished run.
EXIT_FINISHED = 0
EXIT_FAILED = 2  # config, data, model, out of memory, disk full …: the failed event says which
EXIT_INTERRUPTED = (
    3  # a stop signal or SLURM's pre-emption: checkpoint saved, resume it (a time budget is "finished")
)
EXIT_KILLED = 130  # a second stop signal: ended at once, from the last complete checkpoint


class TunerError(Exception):
    """An error caused by the user's input or environment, shown as one line without a traceback.

    `kind` is a short machine-readable tag ("config", "data", "model", "offline", "oom", ...),
    `hint` says how to fix it.
    """

    def __init__(self, message: str, *, kind: str = "error", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(TunerError):
    """A preset or override is invalid; the message names the file and key path."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message, kind="config", hint=hint)


class DataError(TunerError):
    """A data source cannot be read or yields no usable rows; the message names file and line."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message, kind="data", hint=hint)
