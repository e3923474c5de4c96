"""One short real run of the embedded SmolLM2-135M (the quickstart preset, a few steps)."""

from __future__ import annotations

import pytest

from core.cli import main
from core.events import read_events


@pytest.mark.slow
def test_quickstart_preset_trains_the_embedded_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data"))
    args = [
        "run",
        "quickstart",
        "--max-steps",
        "3",
        "--set",
        "eval.every=3",
        "--set",
        "eval.exact_match_rows=2",
        "--set",
        "eval.max_val_rows=8",
        "--set",
        "eval.max_new_tokens=16",
        "--set",
        "eval.sample_every=3",
        "--set",
        "train.save_every=3",
        "--set",
        "log.every=1",
    ]
    assert main(args) == 0
    (run,) = (tmp_path / "runs").iterdir()
    evs = read_events(run / "events.jsonl")
    started = evs[0]
    assert started["model"] == "embedded:smollm2-135m-instruct" and started["total_params"] > 130_000_000
    losses = [e["loss"] for e in evs if e["type"] == "step"]
    assert len(losses) == 3 and all(0 < loss < 20 for loss in losses)
    evals = [e for e in evs if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 3] and evals[-1]["val_loss"] < evals[0]["val_loss"]
    assert any(e["type"] == "sample" for e in evs)
    assert (run / "adapter" / "adapter_model.safetensors").stat().st_size > 1_000_000
