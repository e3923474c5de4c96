"""eval.exec during training: the sample, the eval events that carry execution accuracy, the refusal."""

from __future__ import annotations

import pytest

from core.cli import main
from core.events import read_events
from core.exec_eval.exec_set import CATEGORIES, exec_sample, load_exec_set
from core.sandbox.bwrap import sandbox_problem


def only_run(tmp_path):
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    return run


def test_the_sample_is_fixed_and_covers_every_category() -> None:
    rows = load_exec_set()
    sample = exec_sample(rows, 14)
    assert sample == exec_sample(list(reversed(rows)), 14)  # the order of the file does not matter
    assert {r.category for r in sample} == set(CATEGORIES)
    assert len({r.id for r in exec_sample(rows, 10_000)}) == len(rows)


@pytest.mark.slow
def test_eval_events_carry_execution_accuracy(tiny_preset, tmp_path, sandbox_ready) -> None:
    preset = tiny_preset("[eval]\nexec = true\nexec_rows = 7\n")
    assert main(["run", str(preset)]) == 0
    evals = [e for e in read_events(only_run(tmp_path) / "events.jsonl") if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 3, 6]
    for e in evals:
        assert e["exec_rows"] == 7 and 0.0 <= e["exec_accuracy"] <= 1.0
    log = (only_run(tmp_path) / "train.log").read_text()
    assert "exec accuracy" in log


def test_without_a_sandbox_training_goes_on_with_one_warning(tiny_preset, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    sandbox_problem.cache_clear()
    try:
        preset = tiny_preset("[eval]\nexec = true\n[train]\nmax_steps = 2\n")
        assert main(["run", str(preset)]) == 0
    finally:
        sandbox_problem.cache_clear()
    evs = read_events(only_run(tmp_path) / "events.jsonl")
    warnings = [e for e in evs if e["type"] == "warning" and e.get("kind") == "exec"]
    assert len(warnings) == 1 and "bubblewrap" in warnings[0]["message"]
    assert all(e.get("exec_accuracy") is None for e in evs if e["type"] == "eval")
    assert evs[-1]["type"] == "finished"
