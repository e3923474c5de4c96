"""The data steps end to end on small files: each step removes what it should and says why."""

from __future__ import annotations

import time

import pytest

from core.config.schema import DataCfg, Preset, SourceCfg
from core.data.build import build_data
from core.data.pipeline import run_pipeline, split_rows
from core.data.records import Example
from core.errors import DataError

ROWS = [
    {"nl": "list files", "cmd": "ls -la"},
    {"nl": "List files.", "cmd": "ls   -la"},  # normalized duplicate of row 1
    {"nl": "list files", "cmd": "ls -la"},  # exact duplicate
    {"nl": "wipe the disk", "cmd": "dd if=/dev/zero of=/dev/sda"},
    {"nl": "broken", "cmd": "find . ( -name a"},
    {"nl": "nuke everything", "cmd": "echo hi && sudo rm -rf --no-preserve-root /"},
] + [
    {"nl": f"show line {i} of /var/log/app.log", "cmd": f"sed -n '{i}p' /var/log/app.log"}
    for i in range(1, 41)
]


def cfg(path, **kw) -> DataCfg:
    return DataCfg(
        sources=[SourceCfg(kind="file", path=str(path), **kw)], split={"train": 0.8, "val": 0.1, "test": 0.1}
    )


def test_each_cleaning_step_counts_and_explains(jsonl_file):
    res = run_pipeline(cfg(jsonl_file(ROWS)))
    steps = res.report["steps_removed"]
    assert steps["duplicate_exact"] == 1 and steps["duplicate_normalized"] == 1
    assert steps["dangerous"] == 2 and steps["syntax"] == 1
    reasons = {r.row_id: (r.step, r.reason) for r in res.rejected}
    assert reasons["data.jsonl:4"][0] == "dangerous" and "block device" in reasons["data.jsonl:4"][1]
    assert reasons["data.jsonl:6"][0] == "dangerous"
    kept = sum(len(v) for v in res.splits.values())
    assert kept + len(res.rejected) == len(ROWS), "every row is kept or rejected with a reason"


def test_split_is_deterministic_and_grouped(jsonl_file):
    rows = [{"nl": f"print number {i}", "cmd": f"echo {i % 30}"} for i in range(300)]
    a = run_pipeline(cfg(jsonl_file(rows)))
    b = run_pipeline(cfg(jsonl_file(rows)))
    assert a.data_hash == b.data_hash
    assert [e.row_id for e in a.splits["test"]] == [e.row_id for e in b.splits["test"]]
    cmds = {name: {e.command for e in a.splits[name]} for name in a.splits}
    assert not (cmds["train"] & cmds["test"]) and not (cmds["train"] & cmds["val"])
    assert 20 <= len(a.splits["test"]) <= 40


def test_split_groups_instruction_paraphrases_too():
    rows = [Example("count lines", "wc -l f", "s", "1"), Example("count lines", "cat f | wc -l", "s", "2")]
    rows += [Example(f"x{i}", f"echo {i}", "s", str(i + 3)) for i in range(20)]
    splits = split_rows(rows, DataCfg(split={"train": 0.5, "val": 0.25, "test": 0.25}))
    where = {e.row_id: name for name, v in splits.items() for e in v}
    assert where["1"] == where["2"]


def test_source_own_split_is_honoured_and_decontaminated(jsonl_file):
    train = jsonl_file(
        [{"nl": f"task {i}", "cmd": f"echo {i}"} for i in range(20)] + [{"nl": "show disk", "cmd": "df -h"}],
        "a.jsonl",
    )
    test = jsonl_file(
        [{"nl": "Show disk", "cmd": "du -sh ."}, {"nl": "free space", "cmd": "df  -h"}], "b.jsonl"
    )
    data = DataCfg(
        sources=[
            SourceCfg(kind="file", path=str(train)),
            SourceCfg(kind="file", path=str(test), role="test"),
        ],
        split={"train": 1.0, "val": 0.0, "test": 0.0},
    )
    res = run_pipeline(data)
    assert {e.command for e in res.splits["test"]} == {"du -sh .", "df  -h"}
    assert "df -h" not in {e.command for e in res.splits["train"]}
    (r,) = [r for r in res.rejected if r.step == "decontaminate"]
    assert "held-out" in r.reason


def test_augmentation_only_on_named_sources_and_train(jsonl_file):
    aug = jsonl_file(
        [
            {
                "nl": f"find files in /var/log/app{i} older than 7 days",
                "cmd": f"find /var/log/app{i} -mtime +7",
            }
            for i in range(30)
        ],
        "aug.jsonl",
    )
    plain = jsonl_file([{"nl": f"say {i}", "cmd": f"echo {i}"} for i in range(10)], "plain.jsonl")
    data = DataCfg(
        sources=[
            SourceCfg(kind="file", path=str(aug), augment=True),
            SourceCfg(kind="file", path=str(plain)),
        ],
        augment={"multiplier": 3.0},
        split={"train": 0.8, "val": 0.1, "test": 0.1},
    )
    res = run_pipeline(data)
    augmented = [e for e in res.splits["train"] if e.origin]
    assert augmented and all(e.source == "aug" for e in augmented)
    assert not any(e.origin for name in ("val", "test") for e in res.splits[name])
    keys = [(e.instruction, e.command) for name in res.splits for e in res.splits[name]]
    assert len(keys) == len(set(keys)), "augmentation never produces duplicates"
    held = {e.command for name in ("val", "test") for e in res.splits[name]}
    assert not held & {e.command for e in augmented}


def test_empty_after_cleaning_is_one_clear_error(jsonl_file):
    path = jsonl_file([{"nl": "wipe", "cmd": "rm -rf /"}, {"nl": "format", "cmd": "mkfs.ext4 /dev/sda1"}])
    with pytest.raises(DataError) as e:
        run_pipeline(cfg(path))
    assert "empty after cleaning" in str(e.value) and "2 rejected" in str(e.value)


def test_build_writes_everything_and_is_cached(jsonl_file, isolated_cache):
    preset = Preset(name="t", data=cfg(jsonl_file(ROWS)))
    first = build_data(preset)
    assert not first.cached
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "rejected.jsonl", "report.json", "manifest.json"):
        assert (first.path / name).is_file()
    assert len(first.rejected()) == 5 and first.manifest["data_hash"] == first.report()["data_hash"]
    t = time.perf_counter()
    second = build_data(preset)
    assert second.cached and second.path == first.path and time.perf_counter() - t < 1.0
    assert [e.row_id for e in second.split("train")] == [e.row_id for e in first.split("train")]
    assert not list(first.path.parent.glob("*.tmp-*")), "no temporary folder left behind"


def test_changed_input_rebuilds(jsonl_file, isolated_cache):
    path = jsonl_file(ROWS)
    a = build_data(Preset(name="t", data=cfg(path)))
    path.write_text(path.read_text() + '{"nl": "print the kernel release", "cmd": "uname -r"}\n')
    b = build_data(Preset(name="t", data=cfg(path)))
    assert not b.cached and a.data_hash != b.data_hash
