"""Training in phases: `model.init_from = "RUN[:checkpoint]"` (merge / continue / full) and `tuner run A --then B`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main
from core.config.loader import read_toml
from core.events import read_events


def runs(tmp_path: Path) -> list[Path]:
    return sorted((p for p in (tmp_path / "runs").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)


def evals(run: Path) -> list[tuple[int, float]]:
    return [(e["step"], e["val_loss"]) for e in read_events(run / "events.jsonl") if e["type"] == "eval"]


def init_record(run: Path) -> dict:
    return json.loads((run / "provenance.json").read_text())["extra"]["init_from"]


@pytest.mark.slow
def test_merge_mode_starts_from_phase_one_and_resumes(tiny_preset, tiny_llama, tmp_path, capsys):
    assert main(["run", str(tiny_preset("[train]\nlr = 0.02"))]) == 0  # a high rate: phase 1 moves the loss
    (one,) = runs(tmp_path)
    phase2 = tiny_preset(f'[model]\ninit_from = "{one.name}"', name="tiny2")
    assert main(["run", str(phase2), "--max-steps", "3"]) == 0
    two = next(p for p in runs(tmp_path) if p != one)
    # same data, a fresh (zero) adapter on the merged weights: phase 2 starts where phase 1 ended
    assert evals(two)[0][0] == 0
    assert evals(two)[0][1] == pytest.approx(evals(one)[-1][1], abs=1e-4)
    assert evals(two)[0][1] < evals(one)[0][1] - 0.01, "not the untrained base"
    preset = read_toml(two / "preset.toml")
    assert preset["model"]["id"] == str((two / "base").resolve()), "the run names what it trained on"
    assert preset["model"]["init_from"] == str(one.resolve())
    record = init_record(two)
    assert record["mode"] == "merge" and record["run"] == str(one.resolve())
    assert record["root_model"] == str(tiny_llama)
    # resumable like any run: the merged base is not rebuilt, the record is kept
    base_time = (two / "base" / "config.json").stat().st_mtime
    assert main(["run", "--resume", two.name, "--max-steps", "6"]) == 0
    assert [s for s, _ in evals(two)][-1] == 6
    assert (two / "base" / "config.json").stat().st_mtime == base_time
    assert init_record(two)["mode"] == "merge"
    capsys.readouterr()
    assert main(["generate", two.name, "list files", "--max-new-tokens", "3"]) == 0


@pytest.mark.slow
def test_continue_mode_trains_the_same_adapter(tiny_preset, tiny_llama, tmp_path):
    assert main(["run", str(tiny_preset()), "--max-steps", "3"]) == 0
    (one,) = runs(tmp_path)
    extra = f'[model]\ninit_from = "{one.name}:checkpoint-3"\ninit_mode = "continue"'
    assert main(["run", str(tiny_preset(extra, name="tiny2")), "--max-steps", "3"]) == 0
    two = next(p for p in runs(tmp_path) if p != one)
    assert evals(two)[0][1] == pytest.approx(evals(one)[-1][1], abs=1e-5)
    assert read_toml(two / "preset.toml")["model"]["id"] == str(tiny_llama), "same base, no merged copy"
    assert not (two / "base").exists()
    record = init_record(two)
    assert record["mode"] == "continue" and record["checkpoint"] == "checkpoint-3"


@pytest.mark.slow
def test_then_runs_the_phases_in_sequence(tiny_preset, tmp_path, capsys):
    phase2 = tiny_preset('[model]\ninit_from = "previous:latest"', name="tiny2")
    assert main(["run", str(tiny_preset()), "--then", str(phase2), "--max-steps", "2"]) == 0
    one, two = runs(tmp_path)
    assert one.name.startswith("tiny-") and two.name.startswith("tiny2-")
    record = init_record(two)
    assert record["run"] == str(one.resolve()) and record["checkpoint"] == "latest"
    assert Path(record["weights"]).name == "checkpoint-2"
    out = capsys.readouterr().out
    assert "phase 1/2" in out and "phase 2/2" in out


def test_refusals_before_any_run_directory(tiny_preset, tmp_path, capsys):
    def refused(*args: str) -> str:
        capsys.readouterr()
        assert main(["run", *args]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("error:") == 1, err
        return err

    assert "the phase before" in refused(str(tiny_preset('[model]\ninit_from = "previous"', name="p")))
    assert "no run matches" in refused(str(tiny_preset('[model]\ninit_from = "nope"', name="q")))
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_phase_refuses_another_model_or_adapter_shape(tiny_preset, tmp_path, capsys):
    assert main(["run", str(tiny_preset()), "--max-steps", "1"]) == 0
    (one,) = runs(tmp_path)
    capsys.readouterr()
    other = tiny_preset(f'[model]\nid = "{tmp_path}"\ninit_from = "{one.name}"', name="o")
    assert main(["run", str(other)]) == 2
    assert "this preset's model.id" in capsys.readouterr().err
    wider = tiny_preset(f'[model]\ninit_from = "{one.name}"\ninit_mode = "continue"\n[lora]\nr = 8', name="w")
    assert main(["run", str(wider)]) == 2
    assert "lora.r = 8" in capsys.readouterr().err
    assert runs(tmp_path) == [one], "refused before a run directory exists"


@pytest.mark.slow
def test_scratch_stages_through_then(tmp_path, monkeypatch):
    """mps-scratch's two stages: stage 2 (mps-scratch-code) starts from stage 1's best checkpoint."""
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data"))
    assert main(["run", "mps-scratch", "--smoke", "--then", "mps-scratch-code", "--max-steps", "5"]) == 0
    one, two = runs(tmp_path)
    record = init_record(two)
    assert record["mode"] == "full" and record["checkpoint"] == "best"
    assert read_toml(two / "preset.toml")["model"]["id"] == record["weights"]
    assert "scratch" not in read_toml(two / "preset.toml")["model"], "stage 2 loads stage 1's model"
    assert evals(two)[0][1] == pytest.approx(min(v for _, v in evals(one)), abs=1e-3), "best weights"


@pytest.mark.slow
def test_a_phase_cut_short_stops_the_sequence(tiny_preset, tmp_path, capsys):
    phase2 = tiny_preset(name="tiny2")
    code = main(["run", str(tiny_preset()), "--then", str(phase2), "--set", "train.time_budget=1s"])
    assert code == 3, "the next phase would start from a phase that did not reach its end"
    (one,) = runs(tmp_path)
    assert f"tuner run --resume {one.name} --then {phase2}" in capsys.readouterr().err
