"""Every message the TUI's panes and app exchange (Textual messages, posted and handled with @on).

Panes post requests that bubble up to the app (open a run, stop it, launch a preset, …) and
never call the app or another pane. The app posts commands to a pane; a pane mounted lazily
(after the first paint) gets them from its queue once it is mounted, so none is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message

# ---------------------------------------------------------------------------------- pane → app


@dataclass
class RunsListed(Message):
    """The runs pane listed the runs (after every listing; `infos` is a list of core.runs.RunInfo).

    `merges`: run path → "linear merge of a + b" for the runs `tuner merge` wrote.
    """

    infos: list[Any]
    merges: dict[str, str] = field(default_factory=dict)


@dataclass
class MonitorStatus(Message):
    """The monitored run's status changed or was re-read (for the Monitor tab's label)."""

    status: str


@dataclass
class OpenRun(Message):
    """Show this run in the monitor."""

    run_dir: Path


@dataclass
class OpenInPlayground(Message):
    """Open this run's model in the playground (A = adapter, B = base)."""

    run_dir: Path


@dataclass
class StopRequested(Message):
    """The user asked to stop this run (the app confirms, then sends SIGTERM)."""

    run_dir: Path


@dataclass
class StopLaunchRequested(Message):
    """The user asked to stop a launch that has no run directory yet (a tuner_tui.launcher.Launch)."""

    launch: Any


@dataclass
class ResumeRequested(Message):
    """Resume this interrupted or failed run."""

    run_dir: Path


@dataclass
class LaunchRequested(Message):
    """Start `tuner run TARGET --set …` detached (confirmed by the user already)."""

    target: str
    overrides: list[str]
    smoke: bool = False


@dataclass
class PresetSaved(Message):
    """A user preset was written: lists of presets elsewhere are stale."""

    name: str


@dataclass
class RunsWanted(Message):
    """List the runs again now (the playground waits for a run that is not listed yet)."""


@dataclass
class ExportRequested(Message):
    """Run `tuner export RUN --format FMT [--quant Q] [--ollama] [--force]` (chosen in the export dialog)."""

    run_dir: Path
    fmt: str
    quant: str | None = None
    ollama: bool = False
    force: bool = False


@dataclass
class MergeRequested(Message):
    """Run `tuner merge RUN RUN … --out NAME` (chosen in the merge dialog)."""

    runs: list[Path]
    out: str
    method: str = "linear"
    weights: list[float] | None = None
    density: float | None = None
    force: bool = False


@dataclass
class ShowPane(Message):
    """Switch to another pane."""

    pane: str


# ---------------------------------------------------------------------------------- app → pane


@dataclass
class AttachRun(Message, bubble=False):
    """Monitor: follow this run directory, or a launch whose directory does not exist yet."""

    run_dir: Path | None
    launch: Any = None  # tuner_tui.launcher.Launch


@dataclass
class StopSent(Message, bubble=False):
    """Monitor: SIGTERM went to this run's trainer; say "stopping…" before the trainer does."""

    run_dir: Path


@dataclass
class RunsChanged(Message, bubble=False):
    """Playground: the runs (core.runs.RunInfo) it can offer models from."""

    infos: list[Any]


@dataclass
class JobUpdate(Message, bubble=False):
    """Runs: an export or merge (a tuner_tui.jobs.Job) printed a line, or ended."""

    job: Any


@dataclass
class SelectRun(Message, bubble=False):
    """Playground: A = this run's adapter, B = its base model."""

    run_dir: Path


@dataclass
class OpenData(Message, bubble=False):
    """Data: open a built data directory, a preset or a data file (`tuner-tui --data REF`)."""

    ref: str


@dataclass
class PresetsChanged(Message, bubble=False):
    """Data: the presets on disk changed; list the sources again."""
