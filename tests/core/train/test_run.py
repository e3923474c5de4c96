"""`tuner run` end to end on a tiny model: events, run directory, checkpoints, failures, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main
from core.events import read_events
from core.runs import complete_checkpoints, list_runs


def only_run(tmp_path: Path) -> Path:
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    return run


def types(run: Path) -> list[str]:
    return [e["type"] for e in read_events(run / "events.jsonl")]


def test_run_writes_the_documented_run_directory(tiny_preset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_API_KEY", "wandb-fake-secret-0123456789")
    monkeypatch.setenv("HF_TOKEN", "hf_fakeSecretToken987654321")
    assert main(["run", str(tiny_preset())]) == 0
    run = only_run(tmp_path)
    for name in (
        "preset.toml",
        "provenance.json",
        "events.jsonl",
        "train.log",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "adapter/tokenizer.json",
    ):
        assert (run / name).is_file(), name
    evs = read_events(run / "events.jsonl")
    kinds = [e["type"] for e in evs]
    assert kinds[0] == "run_started" and kinds[-1] == "finished"
    assert {"step", "eval", "sample", "checkpoint"} <= set(kinds)
    steps = [e for e in evs if e["type"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4, 5, 6]
    first = steps[0]
    assert first["tokens"] > 0 and first["tokens_per_s"] > 0 and first["memory"]["rss_bytes"] > 0
    assert evs[-1]["status"] == "finished" and evs[-1]["reason"] == "max_steps"
    log = (run / "train.log").read_text()  # the terminal's story, for a run opened later
    assert "step 1/6 loss" in log and "eval @ 0: val loss" in log and "finished at step 6" in log
    # save_limit = 2 keeps the latest and the best; every kept checkpoint is complete
    assert [p.name for p in complete_checkpoints(run)] == ["checkpoint-3", "checkpoint-6"]
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["data_hash"] and prov["packages"]["transformers"]
    for path in run.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"wandb-fake-secret" not in blob and b"hf_fakeSecretToken" not in blob, path
    (info,) = list_runs(tmp_path / "runs")
    assert info.status == "finished" and info.step == 6


def test_resume_continues_from_the_last_checkpoint(tiny_preset, tmp_path):
    assert main(["run", str(tiny_preset()), "--max-steps", "3"]) == 0
    run = only_run(tmp_path)
    assert main(["run", "--resume", "latest", "--max-steps", "6"]) == 0
    evs = read_events(run / "events.jsonl")
    starts = [e for e in evs if e["type"] == "run_started"]
    assert starts[1]["resumed_from"].endswith("checkpoint-3")
    assert [e["step"] for e in evs if e["type"] == "step"][-3:] == [4, 5, 6]


def test_unknown_target_module_fails_with_the_model_names(tiny_preset, tmp_path, capsys):
    code = main(["run", str(tiny_preset()), "--set", 'lora.target_modules=["qkv"]'])
    assert code == 2
    err = capsys.readouterr().err
    assert "not found in this model" in err and "q_proj" in err and "Traceback" not in err
    (failed,) = [e for e in read_events(only_run(tmp_path) / "events.jsonl") if e["type"] == "failed"]
    assert failed["kind"] == "config" and "q_proj" in failed["hint"]


def test_dataset_empty_after_cleaning_marks_the_run_failed(tiny_preset, tmp_path, jsonl_file, capsys):
    bad = jsonl_file([{"nl": "wipe", "cmd": "rm -rf /"}])
    preset = tiny_preset(f'[data]\nsources = [{{kind = "file", path = "{bad}"}}]\n')
    assert main(["run", str(preset)]) == 2
    assert "empty after cleaning" in capsys.readouterr().err
    assert types(only_run(tmp_path))[-1] == "failed"


def test_missing_preset_is_one_line(capsys):
    assert main(["run", "no-such-preset"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no preset named" in err[0]


def test_time_budget_stops_cleanly_with_a_checkpoint(tiny_preset, tmp_path):
    assert main(["run", str(tiny_preset('[train]\ntime_budget = "1s"\nsave_every = 100\n'))]) == 0
    run = only_run(tmp_path)
    fin = read_events(run / "events.jsonl")[-1]
    assert fin["type"] == "finished" and fin["reason"] == "time_budget" and fin["step"] < 6
    assert complete_checkpoints(run)[-1].name == f"checkpoint-{fin['step']}"


@pytest.mark.parametrize(
    "extra",
    [
        '[train]\nadapter = "full"\nlr = 1e-4\n',
        '[quant]\nbits = 4\ncompute_dtype = "float32"\n[train]\noptimizer = "adamw_bnb_8bit"\n',
    ],
)
def test_full_finetune_and_qlora_run_on_cpu(tiny_preset, tmp_path, extra):
    assert (
        main(
            [
                "run",
                str(tiny_preset(extra)),
                "--max-steps",
                "2",
                "--set",
                "eval.every=2",
                "--set",
                "train.save_every=2",
            ]
        )
        == 0
    )
    evs = read_events(only_run(tmp_path) / "events.jsonl")
    started = evs[0]
    assert started["adapter"] == ("full" if "full" in extra else "qlora")
    assert all(e["loss"] is not None for e in evs if e["type"] == "step")


def test_disk_full_while_checkpointing_never_leaves_a_corrupt_checkpoint(
    tiny_preset, tmp_path, monkeypatch, capsys
):
    import errno

    from transformers import Trainer

    real = Trainer._save_optimizer_and_scheduler
    calls = {"n": 0}

    def flaky(self, output_dir):
        calls["n"] += 1
        if calls["n"] == 2:  # the second checkpoint hits a full disk halfway through
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", flaky)
    assert main(["run", str(tiny_preset())]) == 2
    assert "disk full" in capsys.readouterr().err
    run = only_run(tmp_path)
    assert [p.name for p in complete_checkpoints(run)] == ["checkpoint-3"]
    assert not (run / "checkpoints" / "checkpoint-6").exists(), "the half-written save was never published"
    failed = read_events(run / "events.jsonl")[-1]
    assert failed["type"] == "failed" and failed["kind"] == "disk_full" and failed["step"] is not None


def test_out_of_memory_suggests_the_fixes(tiny_preset, tmp_path, monkeypatch, capsys):
    import torch

    from core.train.trainer import TunerTrainer

    def oom(self, *a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(TunerTrainer, "training_step", oom)
    assert main(["run", str(tiny_preset())]) == 2
    err = capsys.readouterr().err
    assert "out of memory" in err and "micro_batch_size" in err and "Traceback" not in err
    assert read_events(only_run(tmp_path) / "events.jsonl")[-1]["kind"] == "oom"


def test_unknown_hub_model_offline_is_one_sentence(tiny_preset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["run", str(tiny_preset()), "--set", "model.id=someone/not-cached-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "someone/not-cached-model" in err[0] and "cannot be reached" in err[0]
    assert read_events(only_run(tmp_path) / "events.jsonl")[-1]["kind"] == "offline"


def test_seeds_run_once_per_seed_and_summarise(tiny_preset, tmp_path, capsys):
    """--seeds: one run directory per seed (its seed in its preset), different adapters, a summary with the spread."""
    from safetensors.torch import load_file

    from core.config.loader import read_toml

    assert main(["run", str(tiny_preset()), "--seeds", "1-2", "--max-steps", "2"]) == 0
    runs = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert [r.name.split("-2")[0] for r in runs] == ["tiny-seed1", "tiny-seed2"]
    assert [read_toml(r / "preset.toml")["train"]["seed"] for r in runs] == [1, 2]
    a, b = (load_file(r / "adapter" / "adapter_model.safetensors") for r in runs)
    key = next(k for k in a if "lora_A" in k)
    assert not (a[key] == b[key]).all()  # the seed reached the adapter's initialisation
    out = capsys.readouterr().out
    logs = [(r / "train.log").read_text() for r in runs]
    assert [log.count("finished at step") for log in logs] == [1, 1]  # each run's log is its own
    assert "2 of 2 seeds" in out and "best val loss over 2 seeds: mean" in out


@pytest.mark.parametrize(
    ("text", "seeds"), [("1,2,3", [1, 2, 3]), ("1-3", [1, 2, 3]), ("5, 1-2, 5", [5, 1, 2])]
)
def test_parse_seeds(text, seeds):
    from core.cli import parse_seeds

    assert parse_seeds(text) == seeds


def test_bad_seeds_are_one_line(tiny_preset, tmp_path, capsys):
    assert main(["run", str(tiny_preset()), "--seeds", "one,two"]) == 2
    err = capsys.readouterr().err
    assert "--seeds 'one,two' is not a list of integers" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_device_refusal_comes_before_any_run_directory(tiny_preset, tmp_path, capsys):
    """MPS off macOS (like 4-bit on XLA, or CUDA without a GPU): one line, exit 2, nothing created."""
    assert main(["run", str(tiny_preset()), "--set", "model.device=mps"]) == 2
    err = capsys.readouterr().err
    assert "needs macOS" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_spmd_refusal_comes_before_any_run_directory(tiny_preset, tmp_path, capsys, monkeypatch):
    """Several XLA cores with length-grouped batches: refused up front, like the other device limits."""
    import core.device

    monkeypatch.setattr(core.device, "select_device", lambda preference="auto": "xla")
    monkeypatch.setattr(core.device, "xla_spmd_cores", lambda device: 4)
    assert main(["run", str(tiny_preset()), "--set", "train.batching=length_grouped"]) == 2
    err = capsys.readouterr().err
    assert (
        "4 XLA cores (SPMD) need instruction data" in err and "pad_to_max" in err and "Traceback" not in err
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_tokens_per_second_with_dataloader_workers(tiny_preset, tmp_path):
    """The collator runs in worker processes: the counts reach the main process with each batch."""
    assert (
        main(["run", str(tiny_preset("[train]\nnum_workers = 2\nmax_steps = 3\n[eval]\nevery = 100\n"))]) == 0
    )
    steps = [e for e in read_events(only_run(tmp_path) / "events.jsonl") if e["type"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    assert all(e["tokens"] > 0 and e["tokens_per_s"] > 0 and e["samples_per_s"] > 0 for e in steps)


def test_a_full_disk_in_the_rust_tokenizer_save_is_one_line_not_a_traceback(tiny_preset, tmp_path):
    """tokenizers raises a plain Exception("No space left on device (os error 28)"): still disk_full."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[3]
    preset = tiny_preset(
        "[train]\nmax_steps = 400\nsave_every = 1000\n[eval]\nevery = 1000\nsample_every = 1000\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "run", str(preset)],
        env=dict(os.environ, PYTHONPATH=str(root)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not any(
        e["type"] == "step" for r in (tmp_path / "runs").glob("*") for e in read_events(r / "events.jsonl")
    ):
        time.sleep(0.05)
    run = only_run(tmp_path)
    (run / "adapter").mkdir()
    # every write there: ENOSPC, from Rust's own I/O
    (run / "adapter" / "tokenizer.json").symlink_to("/dev/full")
    os.killpg(proc.pid, signal.SIGTERM)  # stop → checkpoint → final adapter save hits the "full disk"
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err[-2000:]
    assert "Traceback" not in err and "Logging error" not in err, err[-3000:]
    assert "disk full while writing" in err and "free disk space" in err
    failed = read_events(run / "events.jsonl")[-1]
    assert failed["type"] == "failed" and failed["kind"] == "disk_full" and "os error 28" in failed["message"]
    assert "Traceback" in (run / "train.log").read_text(), "the details stay in train.log"
    assert complete_checkpoints(run), "the checkpoint written before the failed save is intact"


def test_disk_full_is_recognised_in_every_library_s_words(tmp_path):
    import errno

    from core.failures import classify

    class SafetensorError(Exception):
        pass

    worded = [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        Exception("No space left on device (os error 28)"),
        SafetensorError(
            'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space '
            'left on device" })'
        ),
    ]
    assert [classify(e)[0] for e in worded] == ["disk_full"] * 4
    try:  # wrapped by another library's error: the cause still counts
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("could not save checkpoint") from inner
    except RuntimeError as outer:
        assert classify(outer)[0] == "disk_full"
    # torch.save's wordless failure is judged by the room left where the run writes
    wordless = RuntimeError(
        "[enforce fail at inline_container.cc:603] . PytorchStreamWriter failed writing file data/0: file write failed"
    )
    assert classify(wordless, tmp_path)[0] == "internal", "plenty of room here: not a full disk"
    assert classify(ValueError("bad shape"))[0] == "internal"


def test_secrets_never_reach_the_run_directory_or_the_data_cache(tiny_preset, tmp_path, monkeypatch, capsys):
    """Fake secrets in the environment, a --set of a secret-named key and the preset; a prompt holding one is refused."""
    monkeypatch.setenv("WANDB_API_KEY", "wandb-fake-secret-0123456789")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "svc-fake-token-abcdefghij")
    preset = tiny_preset('[eval]\nsample_prompts = ["list files using wandb-fake-secret-0123456789"]\n')
    assert main(["run", str(preset)]) == 2
    err = capsys.readouterr().err
    assert (
        "eval.sample_prompts[0] contains the value of $WANDB_API_KEY" in err
        and "wandb-fake-secret" not in err
    )
    assert not (tmp_path / "runs").exists(), "refused before a run directory exists"

    preset = tiny_preset('[log]\nwandb_project = "p"\n')
    assert main(["run", str(preset), "--set", "log.run_name=svc-fake-token-abcdefghij-run"]) == 2, (
        "a --set too"
    )
    assert main(["run", str(tiny_preset())]) == 0
    out = capsys.readouterr()
    for where in (tmp_path / "runs", tmp_path / "data"):
        for path in where.rglob("*"):
            if path.is_file():
                blob = path.read_bytes()
                assert b"wandb-fake-secret" not in blob and b"svc-fake-token" not in blob, path
    assert "wandb-fake-secret" not in out.out + out.err


def test_a_secret_in_an_event_message_is_masked_on_disk_and_on_the_terminal(tmp_path, monkeypatch):
    from core.events import EventWriter, WarningEvent

    monkeypatch.setenv("HF_TOKEN", "hf_fakeSecretToken987654321")
    with EventWriter(tmp_path / "events.jsonl") as w:
        w.write(WarningEvent(message="could not reach the Hub with hf_fakeSecretToken987654321"))
    assert read_events(tmp_path / "events.jsonl")[0]["message"] == "could not reach the Hub with ***"


def test_resume_honours_a_new_save_interval_and_smoke_honours_sets(tiny_preset, tmp_path):
    assert (
        main(["run", str(tiny_preset("[train]\nsave_every = 2\nsave_limit = 10\n")), "--max-steps", "4"]) == 0
    )
    run = only_run(tmp_path)
    assert main(["run", "--resume", "latest", "--max-steps", "9", "--set", "train.save_every=3"]) == 0
    names = [p.name for p in complete_checkpoints(run)]
    assert "checkpoint-6" in names and "checkpoint-8" not in names, names


def test_small_mistakes_get_one_clear_line(tmp_path, capsys, tiny_preset):
    (tmp_path / "empty.toml").write_text("")
    assert main(["presets", "validate", str(tmp_path / "empty.toml")]) == 0
    assert "every setting is the default" in capsys.readouterr().out
    (tmp_path / "folder").mkdir()
    preset = tiny_preset(f'[[data.sources]]\nkind = "file"\npath = "{tmp_path / "folder"}"\n')
    assert main(["data", "build", str(preset)]) == 2
    assert "is a directory" in capsys.readouterr().err
