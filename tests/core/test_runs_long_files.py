"""run_info on long event files: a bounded read (head + tail window) still folds the right status and figures."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from run_support import dead_pid, started

from core import runs
from core.config.schema import Preset
from core.events import (
    Eval,
    Failed,
    Finished,
    WarningEvent,
    parse_line,
    to_record,
)
from core.run_lock import read_holder

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
