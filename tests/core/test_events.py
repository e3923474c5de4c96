"""The event stream: records round-trip, readers tolerate torn lines, newer versions and truncation."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.events import (
    EVENT_TYPES,
    EVENT_VERSION,
    Checkpoint,
    Eval,
    EventTail,
    EventWriter,
    Failed,
    Finished,
    HistoryScan,
    LineTail,
    RunStarted,
    Sample,
    Step,
    WarningEvent,
    read_events,
    read_range,
    to_record,
)

ROOT = Path(__file__).resolve().parents[2]


def one_of_each() -> list:
    return [
        RunStarted(
            run="r-20250101-000000",
            run_dir="runs/r",
            preset="quickstart",
            model="m",
            device="cpu",
            dtype="float32",
            adapter="lora",
            trainable_params=10,
            total_params=100,
            train_rows=8,
            val_rows=2,
            dropped_too_long=1,
            max_steps=4,
            epochs=1.0,
            micro_batch_size=2,
            grad_accum=1,
            max_seq_len=64,
            batching="length_grouped",
            pid=os.getpid(),
        ),
        Step(
            step=1,
            max_steps=4,
            epoch=0.25,
            loss=2.5,
            lr=1e-4,
            grad_norm=0.7,
            tokens=120,
            tokens_per_s=60.0,
            samples_per_s=1.0,
            elapsed_s=2.0,
            eta_s=6.0,
            memory={"rss_bytes": 1},
        ),
        Eval(step=2, val_loss=2.0, perplexity=math.exp(2.0), exact_match=0.5, exact_match_rows=2),
        Sample(step=2, samples=[{"prompt": "p", "output": "o\nx", "command": "ls -a", "dangerous": None}]),
        Checkpoint(step=2, path="checkpoints/checkpoint-2", is_best=True, val_loss=2.0),
        WarningEvent(message="slow", kind="throughput", step=3),
        Finished(
            status="finished",
            step=4,
            adapter_dir="adapter",
            best_checkpoint="checkpoints/checkpoint-2",
            best_val_loss=2.0,
            elapsed_s=8.0,
            reason="max_steps",
        ),
        Failed(step=None, kind="oom", message="out of memory", hint="lower train.micro_batch_size"),
    ]


def test_every_type_is_registered_and_round_trips(tmp_path):
    events = one_of_each()
    assert set(EVENT_TYPES) == {e.type for e in events}
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        for e in events:
            w.write(e)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(events) + 1  # one line each, newline-terminated
    got = read_events(path)
    assert got == [to_record(e) for e in events]
    for rec, e in zip(got, events, strict=True):
        assert list(rec)[:3] == ["v", "type", "time"]
        assert rec["v"] == EVENT_VERSION and rec["type"] == e.type and isinstance(rec["time"], float)
    assert got[0]["resumed_from"] is None and got[0]["world_size"] == 1


def test_nonfinite_floats_become_null(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.write(Step(step=1, max_steps=2, epoch=0.5, loss=float("nan"), lr=1e-4, grad_norm=float("inf")))
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    rec = json.loads(text)
    assert rec["loss"] is None and rec["grad_norm"] is None


def test_disabled_writer_writes_nothing(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path, enabled=False) as w:
        w.write(WarningEvent(message="rank 1"))
    assert not path.exists()


def test_fsync_flag(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path, fsync=True) as w:
        w.write(WarningEvent(message="x"))
    assert read_events(path)[0]["message"] == "x"


def test_missing_file_reads_empty(tmp_path):
    assert read_events(tmp_path / "nope.jsonl") == []


def test_half_written_last_line_is_skipped(tmp_path):
    path = tmp_path / "events.jsonl"
    good = json.dumps(to_record(WarningEvent(message="a")))
    path.write_text(good + "\n" + good[: len(good) // 2])
    assert [r["message"] for r in read_events(path)] == ["a"]


def test_torn_line_in_the_middle_and_appending_after_a_crash(tmp_path):
    path = tmp_path / "events.jsonl"
    good = json.dumps(to_record(WarningEvent(message="a")))
    path.write_text(good + "\n" + good[:10])  # the trainer died mid-line
    with EventWriter(path) as w:  # a resumed run appends: its lines must not be glued on
        w.write(WarningEvent(message="b"))
    assert [r["message"] for r in read_events(path)] == ["a", "b"]


def test_unknown_fields_dropped_unknown_types_kept_newer_versions_skipped(tmp_path):
    path = tmp_path / "events.jsonl"
    rec = to_record(WarningEvent(message="a"))
    lines = [
        {**rec, "future_field": 1},
        {"v": EVENT_VERSION, "type": "future_type", "time": 1.0, "x": 2},
        {**rec, "v": EVENT_VERSION + 1, "message": "from the future"},
        {**rec, "v": "1"},
        [1, 2],
        {"type": "warning"},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + "not json\n")
    got = read_events(path)
    assert got == [rec, {"v": EVENT_VERSION, "type": "future_type", "time": 1.0, "x": 2}]


def test_tail_is_incremental_and_buffers_partial_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.poll() == []  # file not there yet
    line_a = json.dumps(to_record(WarningEvent(message="a"))) + "\n"
    line_b = json.dumps(to_record(WarningEvent(message="b"))) + "\n"
    line_c = json.dumps(to_record(WarningEvent(message="c"))) + "\n"
    with open(path, "w") as f:  # the file appears later
        f.write(line_a + line_b[:7])
    assert [r["message"] for r in tail.poll()] == ["a"]
    assert tail.poll() == []
    with open(path, "a") as f:
        f.write(line_b[7:20])
    assert tail.poll() == []  # still partial
    with open(path, "a") as f:
        f.write(line_b[20:] + line_c)
    assert [r["message"] for r in tail.poll()] == ["b", "c"]
    assert tail.poll() == [] and tail.offset == path.stat().st_size


def test_tail_does_not_read_when_nothing_changed(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.write(WarningEvent(message="a"))
    tail = EventTail(path)
    assert len(tail.poll()) == 1

    def no_open(*a, **k):
        raise AssertionError("poll() opened the file although nothing changed")

    monkeypatch.setattr("builtins.open", no_open)
    assert tail.poll() == []


def test_tail_handles_truncation_and_recreation(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        for m in "abc":
            w.write(WarningEvent(message=m))
    tail = EventTail(path)
    assert len(tail.poll()) == 3
    path.write_text("")  # truncated
    assert tail.poll() == [] and tail.resets == 1
    with EventWriter(path) as w:
        w.write(WarningEvent(message="d"))
    assert [r["message"] for r in tail.poll()] == ["d"]
    path.unlink()
    assert tail.poll() == []
    replacement = tmp_path / "new.jsonl"  # recreated as another file that is longer than the offset
    with EventWriter(replacement) as w:
        for m in "efgh":
            w.write(WarningEvent(message=m))
    os.replace(replacement, path)
    assert [r["message"] for r in tail.poll()] == ["e", "f", "g", "h"]


def test_tail_detects_replacement_by_a_longer_file(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.write(WarningEvent(message="a"))
    tail = EventTail(path)
    assert len(tail.poll()) == 1
    other = tmp_path / "other.jsonl"
    with EventWriter(other) as w:
        for m in "xyz":
            w.write(WarningEvent(message=m))
    os.replace(other, path)  # new inode, larger size: must not resume mid-file
    assert [r["message"] for r in tail.poll()] == ["x", "y", "z"]
    assert tail.resets == 1


@pytest.mark.parametrize("modules", ["core.events, core.runs", "core.events, core.runs, core.sysinfo"])
def test_clients_import_without_torch(modules):
    code = (
        f"import {modules}, sys; assert 'torch' not in sys.modules; assert 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --------------------------------------------------------------- windowed first reads of long files


def warnings(n: int, start: int = 0) -> list[str]:
    return [
        json.dumps(to_record(WarningEvent(message=f"m{i}", step=i))) + "\n" for i in range(start, start + n)
    ]


def test_a_windowed_first_read_takes_whole_lines_of_the_head_and_the_tail(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = warnings(2000)
    path.write_text("".join(lines))
    size = path.stat().st_size
    tail = EventTail(path, backlog=5000, head=3000)
    got = [r["step"] for r in tail.poll()]
    head_n = next(i for i in range(len(lines)) if sum(map(len, lines[: i + 1])) > 3000)
    tail_n = next(i for i in range(len(lines)) if sum(map(len, lines[-i - 1 :])) > 5000)
    assert got == list(range(head_n)) + list(range(2000 - tail_n, 2000))
    assert tail.gap_at == head_n
    assert tail.skipped == (sum(map(len, lines[:head_n])), size - sum(map(len, lines[-tail_n:])))
    assert tail.bytes_read <= 3000 + 5000 + 1 and tail.offset == size
    with open(path, "a") as f:
        f.write("".join(warnings(2, 2000)))
    assert [r["step"] for r in tail.poll()] == [2000, 2001] and tail.gap_at is None  # then incremental
    small = EventTail(path, backlog=10 * size, head=3000)
    assert len(small.poll()) == 2002 and small.gap_at is None and small.skipped is None  # whole file


def test_a_window_starting_on_a_line_start_keeps_that_line(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = warnings(50)
    path.write_text("".join(lines))
    last3 = sum(map(len, lines[-3:]))
    assert [r["step"] for r in EventTail(path, backlog=last3).poll()] == [47, 48, 49]


def test_a_windowed_read_of_a_file_without_a_final_newline(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = warnings(500)
    path.write_text("".join(lines) + lines[0][:25])  # the trainer is writing (or died) mid-line
    tail = EventTail(path, backlog=2000, head=1000)
    got = tail.poll()
    assert got[-1]["step"] == 499 and tail.offset == path.stat().st_size
    with open(path, "a") as f:
        f.write(lines[0][25:])
    assert [r["step"] for r in tail.poll()] == [0]  # completed: returned once, whole


def test_a_window_inside_one_long_line_drops_that_line(tmp_path):
    path = tmp_path / "events.jsonl"
    big = json.dumps(to_record(WarningEvent(message="x" * 10_000, step=7))) + "\n"
    path.write_text("".join(warnings(3)) + big[:9000])  # the window lies inside the last, unfinished line
    tail = LineTail(path, backlog=1000)
    assert tail.poll() == [] and tail.skipped == (0, path.stat().st_size)
    with open(path, "a") as f:
        f.write(big[9000:] + warnings(1, 8)[0])
    assert [json.loads(ln)["step"] for ln in tail.poll()] == [8]  # the cut line is not returned as a fragment


def test_a_replaced_file_gets_a_windowed_read_again(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(warnings(1000)))
    tail = EventTail(path, backlog=2000, head=500)
    assert tail.poll() and tail.gap_at is not None
    other = tmp_path / "other.jsonl"
    other.write_text("".join(warnings(1000, 5000)))
    os.replace(other, path)
    got = tail.poll()
    assert tail.resets == 1 and tail.gap_at is not None and got[0]["step"] == 5000 and got[-1]["step"] == 5999


def test_history_scan_finds_every_other_event_and_samples_the_steps(tmp_path):
    path = tmp_path / "events.jsonl"
    out, expected = [], []
    for s in range(1, 20_001):
        out.append(json.dumps(to_record(Step(step=s, max_steps=20_000, epoch=0.0, loss=1.0, lr=0.0))) + "\n")
        if s % 997 == 0:
            rec = (
                to_record(Eval(step=s, val_loss=1.0, perplexity=1.0))
                if s % 2
                else to_record(WarningEvent(message='says "type": "step" and "type":"eval"', step=s))
            )
            out.append(json.dumps(rec) + "\n")
            expected.append((rec["type"], s))
    path.write_text("".join(out))
    scan = HistoryScan(path, 0, path.stat().st_size, points=100)
    got = []
    while not scan.done:
        got += scan.read(64 * 1024)  # many blocks: samples and events cross block edges
    others = [(r["type"], r["step"]) for r in got if r["type"] != "step"]
    steps = [r["step"] for r in got if r["type"] == "step"]
    assert others == expected
    assert 95 <= len(steps) <= 105 and steps == sorted(steps) and steps[0] == 1 and steps[-1] > 19_700
    assert path.stat().st_size <= scan.bytes_read < 1.01 * path.stat().st_size  # a cut line is read again
    assert read_range(path, 0, len(out[0]) + len(out[1]) + 5) == [json.loads(out[0]), json.loads(out[1])]
