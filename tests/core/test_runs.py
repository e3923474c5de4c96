"""Run directories: unique names, provenance without secrets, status rules, lookup, checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import runs
from core.config.schema import Preset
from core.errors import TunerError
from core.events import (
    Checkpoint,
    Eval,
    EventWriter,
    Failed,
    Finished,
    RunStarted,
    Step,
    WarningEvent,
    parse_line,
    to_record,
)
from core.run_lock import read_holder

WANDB = "wandb-fake-secret-0123456789"
HF = "hf_fakeSecretToken987654321"
ARG_KEY = "argsecret-abcdef123456"


def started(run_dir: Path, pid: int, **kw) -> RunStarted:
    fields = dict(
        run=run_dir.name,
        run_dir=str(run_dir),
        preset="p",
        model="m",
        device="cpu",
        dtype="float32",
        adapter="lora",
        trainable_params=1,
        total_params=2,
        train_rows=3,
        val_rows=1,
        dropped_too_long=0,
        max_steps=10,
        epochs=1.0,
        micro_batch_size=1,
        grad_accum=1,
        max_seq_len=32,
        batching="padding_free",
        pid=pid,
    )
    fields.update(kw)
    return RunStarted(**fields)


def make_run(root: Path, name: str, events: list, preset: Preset | None = None) -> Path:
    run_dir = runs.create_run_dir(preset or Preset(name="p"), root=root, name=name)
    with EventWriter(run_dir / runs.EVENTS_FILE) as w:
        for e in events(run_dir) if callable(events) else events:
            w.write(e)
    return run_dir


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer exists
    return proc.pid


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
        w.write(WarningEvent(message=runs.scrub(f"wandb login {WANDB}")))
    (run_dir / runs.LOG_FILE).write_text(runs.scrub(f"HF_TOKEN={HF}\n"))

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


def test_scrub(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", WANDB)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", HF)
    monkeypatch.setenv("MY_DB_PASSWORD", "correct-horse-battery")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to scrub safely
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-but-long")  # not a secret name
    text = f"key={WANDB} tok={HF} pw=correct-horse-battery abc false-but-long"
    assert runs.scrub(text) == "key=*** tok=*** pw=*** abc false-but-long"
    assert runs.is_secret_name("log.wandb_key") and runs.is_secret_name("HF_TOKEN")
    assert not runs.is_secret_name("max_tokens_per_batch") and not runs.is_secret_name("tokenizer")


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


# --------------------------------------------------------------- long event files: a bounded read

SHORT_STEP = (
    '{"v": 1, "type": "step", "time": %.3f, "step": %d, "max_steps": %d, "epoch": 0.5, "loss": %.6f, '
    '"lr": 0.0001}\n'
)
LONG = 200_000


def loss_at(step: int) -> float:
    return 1.0 + (step * 7919 % 1000) / 1000


def val_at(step: int) -> float:
    return 1.0 + abs(step - 60_000) / 100_000  # the best evaluation lies deep in the middle


def write_long(path: Path, parts: list, tail: bytes = b"") -> None:
    """Events, and ranges of steps (with an eval every 1,000) written fast; `tail` appended raw."""
    with open(path, "w", encoding="utf-8") as f:
        for part in parts:
            if isinstance(part, range):
                batch = []
                for s in part:
                    batch.append(SHORT_STEP % (s, s, LONG, loss_at(s)))
                    if s % 1000 == 0:
                        batch.append(
                            json.dumps(to_record(Eval(step=s, val_loss=val_at(s), perplexity=1.0))) + "\n"
                        )
                f.write("".join(batch))
            else:
                f.write(json.dumps(to_record(part)) + "\n")
    with open(path, "ab") as f:
        f.write(tail)


def reference_fold(run_dir: Path) -> dict:
    """run_info as it was before the bounded read: every event of the file, folded in order."""
    preset = model = status = step = max_steps = pid = best = last_loss = started = None
    stopping = False
    data = (run_dir / runs.EVENTS_FILE).read_bytes()
    for line in data.split(b"\n")[:-1]:  # the last piece is a torn line or b""
        ev = parse_line(line)
        if ev is None:
            continue
        kind = ev.get("type")
        if kind == "run_started":
            status, stopping = None, False
            preset, model = ev.get("preset"), ev.get("model")
            max_steps, pid, started = ev.get("max_steps"), ev.get("pid"), ev.get("time")
        elif kind == "finished":
            status = "interrupted" if ev.get("status") == "interrupted" else "finished"
        elif kind == "failed":
            status = "failed"
        elif kind == "warning" and ev.get("kind") == "stopping":
            stopping = True
        if kind == "step":
            last_loss = ev.get("loss")
            max_steps = ev.get("max_steps", max_steps)
        if kind == "eval" and isinstance(ev.get("val_loss"), (int, float)):
            best = ev["val_loss"] if best is None else min(best, ev["val_loss"])
        if kind == "finished" and best is None:
            best = ev.get("best_val_loss")
        if isinstance(ev.get("step"), int):
            step = ev["step"]
    holder = read_holder(run_dir)
    if holder is not None and runs.pid_alive(*holder):
        status, pid = "running", holder[0]
    elif status is None:
        status = "running" if runs.pid_alive(pid, started) else "interrupted"
    return dict(
        status=status,
        step=step,
        max_steps=max_steps,
        last_loss=last_loss,
        best_val_loss=best,
        preset=preset,
        model=model,
        pid=pid,
        started=started,
        stopping=stopping and status == "running",
    )


@pytest.fixture
def bytes_read(monkeypatch):
    """Counts the bytes core.events reads from disk (its files are wrapped, nothing else changes)."""
    import core.events

    count = [0]

    class Counted:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def __getattr__(self, name):
            return getattr(self.f, name)

        def read(self, n=-1):
            data = self.f.read(n)
            count[0] += len(data)
            return data

    monkeypatch.setattr(core.events, "open", lambda *a, **kw: Counted(open(*a, **kw)), raising=False)  # noqa: SIM115 - the reader closes it
    return count


def steps_filling_the_head(before: list, after) -> range:
    """Steps from 1 that make `before` + them + `after` end just short of HEAD_BYTES."""
    from core.events import HEAD_BYTES

    size = sum(len(json.dumps(to_record(e))) + 1 for e in [*before, after])
    k = 1
    while size + len(SHORT_STEP % (k, k, LONG, loss_at(k))) < HEAD_BYTES - 10:
        size += len(SHORT_STEP % (k, k, LONG, loss_at(k)))
        k += 1
    return range(1, k)


def long_scenarios(d: Path, me: int, dead: int, now: float) -> dict[str, tuple[list, bytes]]:
    first = LONG // 2
    early = Failed(step=1, kind="oom", message="x")
    stop = WarningEvent(message="SIGTERM: stopping", kind="stopping", step=LONG)
    resumed = dict(resumed_from="checkpoint-90000", time=now)
    return {
        "finished": (
            [
                started(d, me, time=now),
                range(1, LONG + 1),
                Finished(status="finished", step=LONG, adapter_dir="adapter", best_val_loss=val_at(60_000)),
            ],
            b"",
        ),
        "failed": (
            [started(d, me, time=now), range(1, LONG + 1), Failed(step=LONG, kind="oom", message="x")],
            b"",
        ),
        "interrupted": (
            [
                started(d, me, time=now),
                range(1, LONG + 1),
                stop,
                Finished(status="interrupted", step=LONG, adapter_dir="adapter", reason="signal"),
            ],
            b"",
        ),
        "killed": ([started(d, dead, time=now), range(1, LONG + 1)], b""),
        "running, stopping, torn last line": (
            [started(d, me, time=now), range(1, LONG + 1), stop],
            (SHORT_STEP % (0, LONG + 1, LONG, 9.0))[:40].encode(),
        ),
        "resumed in the middle": (
            [
                started(d, dead, time=now - 100),
                range(1, first + 1),
                Finished(status="interrupted", step=first, adapter_dir="", reason="signal"),
                started(d, me, **resumed),
                range(90_001, LONG + 1),
                Finished(status="finished", step=LONG, adapter_dir="adapter", best_val_loss=val_at(90_000)),
            ],
            b"",
        ),
        # The head window ends with the first attempt's failed event; the resume's run_started
        # straddles its edge (unread): the failure must not outlive the gap.
        "failed early, resumed, killed": (
            [
                started(d, dead, time=now - 100),
                steps_filling_the_head([started(d, dead, time=now - 100)], early),
                early,
                started(d, dead, **resumed),
                range(1, LONG + 1),
            ],
            b"",
        ),
        "resumed near the end, torn line before it": (
            [started(d, dead, time=now - 100), range(1, LONG + 1)],
            (SHORT_STEP % (0, LONG + 1, LONG, 9.0))[:30].encode()
            + b"\n"
            + (json.dumps(to_record(started(d, me, **resumed))) + "\n").encode(),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "finished",
        "failed",
        "interrupted",
        "killed",
        "running, stopping, torn last line",
        "resumed in the middle",
        "failed early, resumed, killed",
        "resumed near the end, torn line before it",
    ],
)
def test_a_long_event_file_is_summarised_from_a_bounded_read(tmp_path, case, bytes_read):
    from core.events import HEAD_BYTES, TAIL_BYTES

    me, dead, now = os.getpid(), dead_pid(), time.time()
    run_dir = runs.create_run_dir(Preset(name="p"), root=tmp_path, name="long")
    parts, tail = long_scenarios(run_dir, me, dead, now)[case]
    write_long(run_dir / runs.EVENTS_FILE, parts, tail)
    assert (run_dir / runs.EVENTS_FILE).stat().st_size > 10 * (HEAD_BYTES + TAIL_BYTES)
    bytes_read[0] = 0
    info = runs.run_info(run_dir)
    assert bytes_read[0] <= HEAD_BYTES + TAIL_BYTES + 1
    ref = reference_fold(run_dir)
    got = {k: getattr(info, k) for k in ref}
    assert {
        k: got[k] for k in ("status", "step", "max_steps", "last_loss", "preset", "model", "stopping")
    } == {k: ref[k] for k in ("status", "step", "max_steps", "last_loss", "preset", "model", "stopping")}
    assert ref["status"] == {
        "finished": "finished",
        "failed": "failed",
        "interrupted": "interrupted",
        "killed": "interrupted",
        "resumed in the middle": "finished",
        "failed early, resumed, killed": "interrupted",
    }.get(case, "running")
    if case == "failed early, resumed, killed":
        assert (info.started, info.pid) == (now - 100, dead)  # the first start's (documented)
    elif case == "resumed in the middle":
        # Documented approximations (docs/run-directory.md): the resume's run_started lies in the
        # unread middle, so started and pid are the first start's, and the best val loss is the
        # best of the evals read and of the finished event's figure (the resumed attempt's).
        assert (info.started, info.pid) == (now - 100, dead)
        assert info.best_val_loss == val_at(90_000) > ref["best_val_loss"]
    else:
        assert (info.pid, info.started) == (ref["pid"], ref["started"])
        if case == "finished":
            assert info.best_val_loss == ref["best_val_loss"]  # from the finished event


def test_a_resume_that_is_still_loading_is_running_by_its_lock(tmp_path, bytes_read):
    from core import run_lock

    run_dir = runs.create_run_dir(Preset(name="p"), root=tmp_path, name="long")
    write_long(
        run_dir / runs.EVENTS_FILE,
        [
            started(run_dir, dead_pid(), time=time.time() - 100),
            range(1, LONG // 2),
            Failed(step=LONG // 2 - 1, kind="oom", message="x"),
            started(run_dir, os.getpid(), resumed_from="checkpoint-1000"),
            range(1001, LONG + 1),
        ],
    )
    lock = run_lock.acquire(run_dir)  # what a trainer holds for its whole life
    try:
        info = runs.run_info(run_dir)
        ref = reference_fold(run_dir)
        assert (info.status, info.pid, info.step, info.last_loss) == (
            "running",
            os.getpid(),
            LONG,
            loss_at(LONG),
        )
        assert (ref["status"], ref["pid"], ref["step"], ref["last_loss"]) == (
            info.status,
            info.pid,
            info.step,
            info.last_loss,
        )
    finally:
        lock.release()
    assert runs.run_info(run_dir).status == "interrupted"  # nobody trains it: the killed resume


def test_a_resume_without_steps_yet_keeps_the_last_loss_from_before(tmp_path):
    run_dir = runs.create_run_dir(Preset(name="p"), root=tmp_path, name="long")
    write_long(
        run_dir / runs.EVENTS_FILE,
        [
            started(run_dir, dead_pid()),
            range(1, LONG + 1),
            Finished(status="interrupted", step=LONG, adapter_dir="", reason="signal"),
            started(run_dir, os.getpid(), max_steps=7),
        ],
    )
    info = runs.run_info(run_dir)
    assert (info.status, info.step, info.max_steps, info.last_loss) == ("running", LONG, 7, loss_at(LONG))
    assert (info.status, info.step, info.max_steps, info.last_loss) == tuple(
        reference_fold(run_dir)[k] for k in ("status", "step", "max_steps", "last_loss")
    )


def test_listing_a_long_run_reads_a_bounded_number_of_bytes(tmp_path, bytes_read):
    from core.events import HEAD_BYTES, TAIL_BYTES

    run_dir = runs.create_run_dir(Preset(name="p"), root=tmp_path, name="long")
    write_long(run_dir / runs.EVENTS_FILE, [started(run_dir, dead_pid()), range(1, LONG + 1)])
    (info,) = runs.list_runs(tmp_path)
    assert info.step == LONG and bytes_read[0] <= HEAD_BYTES + TAIL_BYTES + 1


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
