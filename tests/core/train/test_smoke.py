"""Every shipped preset's real code path runs offline on the CPU in smoke mode (`tuner run PRESET --smoke`).

The TPU preset's XLA path is exercised by `make test-xla` (a torch_xla environment); here it runs
its same settings on the CPU device.
"""

from __future__ import annotations

import pytest

from core.cli import main
from core.config.loader import load_preset
from core.events import read_events
from core.train.smoke import model_family, smoke_preset


@pytest.mark.parametrize(
    "name,family",
    [
        ("qwen-qlora", "qwen2"),
        ("tpu-lora", "qwen2"),
        ("pythia", "gpt_neox"),
        ("mps-scratch", "gpt2"),
        ("quickstart", "llama"),
    ],
)
def test_family_detection(name, family):
    assert model_family(load_preset(name)[0]) == family


def test_smoke_keeps_what_matters():
    preset, _ = load_preset("qwen-qlora")
    smoke = smoke_preset(preset)
    assert smoke.quant == preset.quant and smoke.lora == preset.lora
    assert smoke.train.optimizer == preset.train.optimizer and smoke.train.gradient_checkpointing
    assert smoke.train.max_steps == 10 and smoke.model.device == "cpu"
    # on a machine that has the preset's device the smoke runs there (a GPU box exercises CUDA)
    assert smoke_preset(preset, "cuda").model.device == "cuda"
    assert smoke_preset(load_preset("quickstart")[0], "cuda").model.device == "cuda", "auto → what is here"
    assert smoke_preset(load_preset("mps-scratch")[0], "cuda").model.device == "cpu", "no MPS here: the CPU"
    assert smoke.data.sources[0].kind == "bundled"


def test_smoke_of_a_preset_whose_local_file_is_missing_uses_the_bundled_pairs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/nl2bash.jsonl here
    preset, _ = load_preset("nl2bash")
    smoke = smoke_preset(preset)
    assert [s.kind for s in smoke.data.sources] == ["bundled"]
    assert smoke.eval.exec and smoke.eval.exec_rows == 4  # eval.exec kept, on a few rows
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nl2bash.jsonl").write_text('{"nl": "list files", "cmd": "ls"}\n')
    assert [s.kind for s in smoke_preset(preset).data.sources] == ["bundled", "file"]  # there: kept


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qwen-qlora", "tpu-lora", "pythia", "mps-scratch"])
def test_smoke_run(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data"))
    assert main(["run", name, "--smoke"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    evs = read_events(run / "events.jsonl")
    (started,) = [e for e in evs if e["type"] == "run_started"]  # a trained-tokenizer warning may come first
    finished = evs[-1]
    assert finished["type"] == "finished" and finished["step"] == 10
    expected = {"qwen-qlora": "qlora", "tpu-lora": "lora", "pythia": "lora", "mps-scratch": "full"}[name]
    assert started["adapter"] == expected
    losses = [e["loss"] for e in evs if e["type"] == "step"]
    assert len(losses) == 10 and all(loss is not None for loss in losses)
    assert (run / "adapter").is_dir()


@pytest.mark.slow
def test_stage_two_continues_from_stage_one_and_refuses_an_architecture_switch(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data"))
    assert main(["run", "mps-scratch", "--smoke", "--max-steps", "4"]) == 0
    (stage1,) = (tmp_path / "runs").iterdir()
    assert (stage1 / "tokenizer" / "tokenizer.json").is_file(), "a BPE tokenizer was trained on the corpus"
    code = main(
        [
            "run",
            "mps-scratch",
            "--smoke",
            "--max-steps",
            "2",
            "--set",
            f"model.init_from={stage1}",
            "--set",
            "model.scratch.architecture=llama",
            "--set",
            f"model.scratch.tokenizer={stage1 / 'tokenizer'}",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "architecture" in err and "'gpt2'" in err and "Traceback" not in err
    code = main(
        [
            "run",
            "mps-scratch",
            "--smoke",
            "--max-steps",
            "2",
            "--set",
            f"model.init_from={stage1}",
            "--set",
            f"model.scratch.tokenizer={stage1 / 'tokenizer'}",
        ]
    )
    assert code == 0


def test_smoke_keeps_the_users_sets(tmp_path, monkeypatch):
    from core.events import read_events

    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data"))
    assert main(["run", "quickstart", "--smoke", "--set", "train.max_steps=3", "--set", "eval.every=1"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    evs = read_events(run / "events.jsonl")
    assert evs[[e["type"] for e in evs].index("run_started")]["max_steps"] == 3
    assert [e["step"] for e in evs if e["type"] == "eval"] == [0, 1, 2, 3]
