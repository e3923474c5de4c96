"""The `tuner` CLI for presets and data: output a user reads, exit codes, one-line errors."""

from __future__ import annotations

from core.cli import main


def test_presets_list_and_validate(capsys, isolated_cache):
    assert main(["presets", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("quickstart", "qwen-qlora", "tpu-lora", "pythia", "mps-scratch"):
        assert name in out
    assert main(["presets", "validate"]) == 0
    assert capsys.readouterr().out.count("ok") >= 5


def test_validate_reports_each_problem_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[train]\nlrr = 1\nmicro_batch_size = "eight"\n')
    assert main(["presets", "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "train.lrr" in out and "did you mean 'lr'" in out and "train.micro_batch_size" in out


def test_data_build_then_cached_rebuild(capsys, isolated_cache):
    assert main(["data", "build", "quickstart"]) == 0
    first = capsys.readouterr().out
    assert "built in" in first and "data hash:" in first and "dangerous" in first
    assert main(["data", "build", "quickstart"]) == 0
    assert "cached, unchanged" in capsys.readouterr().out


def test_data_preview_shows_rows_lengths_and_categories(capsys, isolated_cache):
    assert main(["data", "preview", "quickstart", "--rows", "3"]) == 0
    out = capsys.readouterr().out
    assert "sample of train" in out and "tokens per example" in out and "p95" in out and "categories" in out


def test_data_preview_shows_augmentation(tmp_path, capsys, isolated_cache, jsonl_file):
    rows = [
        {
            "nl": f"find files in /var/log/app{i} modified in the last 7 days",
            "cmd": f"find /var/log/app{i} -mtime -7",
        }
        for i in range(40)
    ]
    path = jsonl_file(rows)
    preset = tmp_path / "aug.toml"
    preset.write_text(
        f'name = "aug"\n[[data.sources]]\nkind = "file"\npath = "{path}"\naugment = true\n[data.augment]\nmultiplier = 2.0\n'
    )
    assert main(["data", "preview", str(preset)]) == 0
    assert "augmentation examples" in capsys.readouterr().out


def test_bad_source_is_one_line_error(tmp_path, capsys, isolated_cache):
    preset = tmp_path / "p.toml"
    preset.write_text('name = "p"\n[[data.sources]]\nkind = "file"\npath = "missing.jsonl"\n')
    assert main(["data", "build", str(preset)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.jsonl" in err[0] and "does not exist" in err[0]


def test_runs_dir_and_its_deprecated_alias(tmp_path, capsys):
    run = tmp_path / "quickstart-20261101-000000"
    run.mkdir()
    (run / "events.jsonl").write_text('{"v": 1, "type": "run_started", "time": 1.0}\n')
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    listed = capsys.readouterr()
    assert run.name in listed.out and "deprecated" not in listed.err
    assert main(["runs", "--run-dir", str(tmp_path)]) == 0
    old = capsys.readouterr()
    assert run.name in old.out  # the old name still reads the same folder
    assert old.err.strip() == (
        "tuner: --run-dir is deprecated: it is the folder that holds runs, now called --runs-dir"
    )
