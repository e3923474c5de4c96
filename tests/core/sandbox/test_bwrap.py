"""Detecting whether the sandbox works, and refusing in one line (never running on the host) when not."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.cli import main
from core.sandbox.bwrap import sandbox_problem


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A PATH on which bubblewrap does not exist (the other tools still do)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "bash", "true"):
        src = f"/bin/{tool}" if os.path.exists(f"/bin/{tool}") else f"/usr/bin/{tool}"
        os.symlink(src, bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    sandbox_problem.cache_clear()
    yield
    sandbox_problem.cache_clear()


def test_works_here(sandbox_ready) -> None:
    assert sandbox_problem() is None


def test_missing_bubblewrap_is_named_with_how_to_get_it(no_bwrap) -> None:
    problem = sandbox_problem()
    assert problem is not None
    assert "bubblewrap" in problem and "apt-get install bubblewrap" in problem
    assert "\n" not in problem


def test_exec_refuses_in_one_line_and_runs_nothing(no_bwrap, tmp_path: Path, capsys) -> None:
    canary = tmp_path / "ran-on-the-host"
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"reference": "pwd", "prediction": f"touch {canary}"}) + "\n")
    code = main(["eval", "--score", str(preds), "--exec"])
    err = capsys.readouterr().err
    assert code == 2
    assert "bubblewrap" in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) <= 2  # the error and at most its hint
    assert not canary.exists()
    assert not (tmp_path / "preds.scored.jsonl").exists()
