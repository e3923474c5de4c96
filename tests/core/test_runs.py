"""Run directories: unique names, provenance without secrets, status rules, lookup, checkpoints."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from run_support import dead_pid, make_run, started

from core import runs
from core.config.schema import Preset
from core.errors import TunerError
from core.events import (
    Checkpoint,
    Eval,
    EventWriter,
    Failed,
    Finished,
    Step,
    WarningEvent,
)
from core.secrets import scrub

WANDB = "wandb-fake-secret-0123456789"
HF = "hf_fakeSecretToken987654321"
ARG_KEY = "argsecret-abcdef123456"


def test_create_run_dir_layout_and_uniqueness(tmp_path):
    preset = Preset(name="quickstart")
    dirs = [runs.create_run_dir(preset, root=tmp_path) for _ in range(3)]  # same second
    assert len({d.name for d in dirs}) == 3
    for d in dirs:
        assert d.parent == tmp_path and d.name.startswith("quickstart-")
        assert (d / runs.PRESET_FILE).is_file() and (d / runs.CHECKPOINTS_DIR).is_dir()
    assert 'name = "quickstart"' in (dirs[0] / runs.PRESET_FILE).read_text()
    stamp = dirs[0].name[len("quickstart-") :]
    time.strptime(stamp, runs.TIME_FORMAT)
    named = runs.create_run_dir(preset, root=tmp_path, name="my run/x")
    assert named.name.startswith("my-run-x-")


def test_runs_root_env(monkeypatch, tmp_path):
    monkeypatch.delenv("TUNER_RUNS_DIR", raising=False)
    assert runs.runs_root() == Path("runs")
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path))
    assert runs.runs_root() == tmp_path


def test_provenance_has_versions_and_no_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", WANDB)
    monkeypatch.setenv("HF_TOKEN", HF)
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "tuner",
            "run",
            "quickstart",
            "--set",
            f"log.wandb_key={ARG_KEY}",
            "--hf-token",
            HF,
            "--set",
            "train.max_tokens_per_batch=2048",
            f"--note=uses {WANDB}",
        ],
    )
    run_dir = runs.create_run_dir(Preset(name="p", description=f"token {HF}"), root=tmp_path)
    info = runs.write_provenance(
        run_dir,
        data_hash="abc",
        base_model="m",
        base_model_file_sha256=None,
        device="cpu",
        extra={"api_key": ARG_KEY, "note": f"header Bearer {HF}", "nested": [{"password": "hunter2hunter2"}]},
    )
    with EventWriter(run_dir / runs.EVENTS_FILE) as w:
        w.write(WarningEvent(message=scrub(f"wandb login {WANDB}")))
    (run_dir / runs.LOG_FILE).write_text(scrub(f"HF_TOKEN={HF}\n"))

    on_disk = json.loads((run_dir / runs.PROVENANCE_FILE).read_text())
    assert on_disk == json.loads(json.dumps(info))
    pk = on_disk["packages"]
    assert set(pk) >= {
        "torch",
        "transformers",
        "peft",
        "datasets",
        "accelerate",
        "bitsandbytes",
        "trl",
        "tuner",
    }
    assert pk["torch"] and pk["transformers"] and pk["tuner"]
    assert (
        on_disk["python"] and on_disk["hostname"] and on_disk["cpu_count"] and on_disk["pid"] == os.getpid()
    )
    assert set(on_disk["git"]) == {"commit", "dirty"}
    assert on_disk["data_hash"] == "abc" and on_disk["base_model"] == "m"
    assert "log.wandb_key=***" in on_disk["argv"]
    assert "train.max_tokens_per_batch=2048" in on_disk["argv"]  # counts of tokens are not secrets
    assert on_disk["argv"][on_disk["argv"].index("--hf-token") + 1] == "***"

    for f in run_dir.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            for secret in (WANDB, HF, ARG_KEY, "hunter2hunter2"):
                assert secret not in text, f"{secret!r} leaked into {f.name}"


def test_git_state_outside_a_repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert runs.git_state() == {"commit": None, "dirty": None}


def test_status_finished_failed_interrupted_by_event(tmp_path):
    me = os.getpid()
    fin = make_run(
        tmp_path,
        "fin",
        lambda d: [
            started(d, me),
            Step(step=5, max_steps=10, epoch=0.5, loss=1.5, lr=1e-4),
            Eval(step=5, val_loss=1.4, perplexity=4.0),
            Eval(step=10, val_loss=1.2, perplexity=3.3),
            Step(step=10, max_steps=10, epoch=1.0, loss=1.1, lr=0.0),
            Checkpoint(step=10, path="checkpoints/checkpoint-10", is_best=True, val_loss=1.2),
            Finished(
                status="finished", step=10, adapter_dir="adapter", best_val_loss=1.2, reason="max_steps"
            ),
        ],
    )
    info = runs.run_info(fin)
    assert (info.status, info.step, info.max_steps, info.last_loss, info.best_val_loss) == (
        "finished",
        10,
        10,
        1.1,
        1.2,
    )
    assert (info.preset, info.model, info.pid, info.name) == ("p", "m", me, fin.name)
    assert info.started and info.updated

    failed = make_run(tmp_path, "failed", lambda d: [started(d, me), Failed(step=3, kind="oom", message="x")])
    assert runs.run_info(failed).status == "failed"
    stopped = make_run(
        tmp_path,
        "stopped",
        lambda d: [
            started(d, me),
            Finished(status="interrupted", step=3, adapter_dir="adapter", reason="signal"),
        ],
    )
    assert runs.run_info(stopped).status == "interrupted"
    resumed = make_run(
        tmp_path,
        "resumed",
        lambda d: [
            started(d, me),
            Failed(step=3, kind="oom", message="x"),
            started(d, me, resumed_from="ckpt"),
        ],
    )
    assert runs.run_info(resumed).status == "running"  # the resumed attempt is alive


def test_status_running_interrupted_unknown_by_pid(tmp_path):
    alive = make_run(tmp_path, "alive", lambda d: [started(d, os.getpid())])
    assert runs.run_info(alive).status == "running"
    dead = make_run(tmp_path, "dead", lambda d: [started(d, dead_pid())])
    assert runs.run_info(dead).status == "interrupted"
    reused = make_run(
        tmp_path, "reused", lambda d: [started(d, os.getpid(), time=time.time() - 3600 * 24 * 365 * 30)]
    )
    assert runs.run_info(reused).status == "interrupted"  # the pid belongs to a process newer than the run
    fresh = make_run(tmp_path, "fresh", [])
    info = runs.run_info(fresh)
    assert info.status == "unknown" and info.preset == "p" and info.model
    runs.write_provenance(fresh, data_hash=None, base_model="m", base_model_file_sha256=None, device="cpu")
    assert runs.run_info(fresh).status == "running"  # loading: provenance holds the trainer's pid


def test_a_running_run_that_acknowledged_a_stop_is_stopping_until_it_ends(tmp_path):
    stop = WarningEvent(message="SIGTERM: stopping", kind="stopping", step=3)
    stopping = make_run(tmp_path, "stopping", lambda d: [started(d, os.getpid()), stop])
    info = runs.run_info(stopping)
    assert info.status == "running" and info.stopping
    ended = make_run(
        tmp_path,
        "ended",
        lambda d: [
            started(d, os.getpid()),
            stop,
            Finished(status="interrupted", step=3, adapter_dir="", reason="signal", elapsed_s=1.0),
        ],
    )
    assert runs.run_info(ended).status == "interrupted" and not runs.run_info(ended).stopping
    resumed = make_run(
        tmp_path, "resumed", lambda d: [started(d, os.getpid()), stop, started(d, os.getpid())]
    )
    assert not runs.run_info(resumed).stopping, "a resume starts over"


def test_list_runs_newest_first_and_resolve(tmp_path, monkeypatch):
    now = time.time()
    old = make_run(tmp_path, "alpha", lambda d: [started(d, os.getpid(), time=now - 100)])
    new = make_run(tmp_path, "beta", lambda d: [started(d, os.getpid(), time=now)])
    (tmp_path / "not-a-run").mkdir()
    assert [r.path for r in runs.list_runs(tmp_path)] == [new, old]

    assert runs.resolve_run("latest", root=tmp_path) == new
    assert runs.resolve_run(old.name, root=tmp_path) == tmp_path / old.name
    assert runs.resolve_run("alp", root=tmp_path) == old
    assert runs.resolve_run(str(old), root=tmp_path) == old
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path))
    assert runs.resolve_run("beta") == new and [r.path for r in runs.list_runs()] == [new, old]

    with pytest.raises(TunerError) as e:
        runs.resolve_run("gamma", root=tmp_path)
    assert e.value.kind == "config" and "tuner runs" in str(e.value) and "gamma" in str(e.value)
    make_run(tmp_path, "alpine", [])
    with pytest.raises(TunerError, match="several runs"):
        runs.resolve_run("alp", root=tmp_path)
    with pytest.raises(TunerError, match="no runs"):
        runs.resolve_run("latest", root=tmp_path / "empty")


def test_complete_and_incomplete_checkpoints(tmp_path):
    run_dir = runs.create_run_dir(Preset(name="p"), root=tmp_path)
    ck = run_dir / runs.CHECKPOINTS_DIR
    for step in (100, 20, 3):
        (ck / f"checkpoint-{step}").mkdir()
        (ck / f"checkpoint-{step}" / runs.COMPLETE_MARKER).write_text("")
    (ck / "checkpoint-120").mkdir()  # crashed before the marker
    (ck / ".tmp-checkpoint-140").mkdir()  # crashed before the rename
    (ck / "checkpoint-notanumber").mkdir()
    (ck / "checkpoint-7").write_text("a file, not a checkpoint")
    assert [p.name for p in runs.complete_checkpoints(run_dir)] == [
        "checkpoint-3",
        "checkpoint-20",
        "checkpoint-100",
    ]
    assert [p.name for p in runs.incomplete_checkpoints(run_dir)] == ["checkpoint-120", ".tmp-checkpoint-140"]
    assert runs.complete_checkpoints(tmp_path / "missing") == []
    assert runs.incomplete_checkpoints(tmp_path / "missing") == []


def test_damaged_files_are_named_not_hidden_behind_interrupted(tmp_path, capsys):
    from core.cli import main

    run = make_run(tmp_path, "torn", lambda d: [started(d, dead_pid())])
    with open(run / runs.EVENTS_FILE, "ab") as f:
        f.write(b'{"v": 1, "type": "step", "st')  # killed mid-write
    (run / runs.PROVENANCE_FILE).write_text("{not json")
    info = runs.run_info(run)
    assert info.status == "interrupted"
    assert info.problems == [
        "events.jsonl ends in a torn line (the trainer was killed while writing it)",
        "provenance.json is not valid JSON (damaged; the run's pid and versions are unknown)",
    ]
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        f"{run.name}: events.jsonl ends in a torn line" in out and "provenance.json is not valid JSON" in out
    )
    assert runs.run_info(make_run(tmp_path, "clean", lambda d: [started(d, dead_pid())])).problems == []
