"""Fixtures for the TUI tests: recorded run directories, a fixed clock, isolated config folders.

Snapshot tests need text that does not move: the run fixtures are copied to a fixed folder
(their paths are shown), event files get a fixed mtime, the app gets a fixed clock, and the
timezone is UTC.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from tui_support import (  # noqa: F401 - re-exported for fixtures below
    DATA_DIR_NAME,
    FAILED_RUN,
    FINISHED_RUN,
    FIXED_NOW,
    FIXED_ROOT,
    FIXTURES,
    fixed_clock,
    run_started,
    step_event,
    write_events,
)


@pytest.fixture
def anyio_backend():
    """Async tests (marked anyio) run on asyncio, Textual's loop."""
    return "asyncio"


@pytest.fixture(autouse=True)
def tui_env(tmp_path, monkeypatch):
    """Presets, history and built data go to temporary folders; times print in UTC."""
    monkeypatch.setenv("TUNER_PRESETS_DIR", str(tmp_path / "user-presets"))
    monkeypatch.setenv("TUNER_HISTORY_FILE", str(tmp_path / "history.jsonl"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data-cache"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def runs_dir(monkeypatch) -> Path:
    """The recorded run directories, copied to a fixed path with fixed mtimes."""
    root = FIXED_ROOT / "runs"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(FIXTURES / "run_dirs", root)
    for run in root.iterdir():
        events = run / "events.jsonl"
        if events.is_file():
            last = json.loads(events.read_text().splitlines()[-1])["time"]
            os.utime(events, (last, last))
    monkeypatch.setenv("TUNER_RUNS_DIR", str(root))
    return root


@pytest.fixture
def data_dir(monkeypatch) -> Path:
    """A small built data directory (real pipeline output: augmentation and rejected rows)."""
    root = FIXED_ROOT / "data"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(FIXTURES / "data", root)
    monkeypatch.setenv("TUNER_DATA_DIR", str(root))
    return root / DATA_DIR_NAME


@pytest.fixture
def empty_runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("TUNER_RUNS_DIR", str(root))
    return root


@pytest.fixture
def live_run(tmp_path) -> Path:
    """A run directory whose trainer pid is this test process (so its status is 'running')."""
    root = tmp_path / "live-runs"
    run = root / "quickstart-20261121-102000"
    run.mkdir(parents=True)
    (run / "preset.toml").write_text('name = "quickstart"\n')
    # Real time: a pid is only "running" if the process existed when the run started.
    write_events(run / "events.jsonl", [run_started(run, os.getpid(), t=time.time())])
    return run


PY = sys.executable
