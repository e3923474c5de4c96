"""core.evaluate: score() on hand-made predictions, data loading for eval, file naming."""

from __future__ import annotations

import json

import pytest

from core.evaluate import judge, load_data_file, score, summary_path

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


def pred(command, reference, **kw):
    return {"command": command, "reference": reference, **kw}


def test_exact_vs_normalized():
    s = score(
        [
            pred("ls -la", "ls -la"),  # exact
            pred("ls  -la ", "ls -la"),  # whitespace: normalized only
            pred('grep "foo" x.txt', "grep 'foo' x.txt"),  # quoting: normalized only
            pred("ls -al", "ls -la"),  # different flags order: neither
        ]
    )
    assert s["rows"] == 4
    assert s["counts"]["exact"] == 1 and s["exact_match"] == pytest.approx(0.25)
    assert s["counts"]["normalized_match"] == 3 and s["normalized_match"] == pytest.approx(0.75)


def test_alternatives_count_for_normalized_match_only():
    rows = [
        pred("du -s -h .", "du -sh .", alternatives=["du -sh", "du -s -h ."]),
        pred("du -s -h .", "du -sh ."),
    ]
    s = score(rows)
    assert s["counts"]["normalized_match"] == 1  # only the row that lists the alternative
    assert s["counts"]["exact"] == 0  # exact is against the reference alone
    assert judge("du -sh", "du -sh .", ["du -sh"]) == {
        "exact": False,
        "normalized_match": True,
        "syntax_ok": True,
        "dangerous": None,
    }


def test_syntax_validity_and_empty_commands():
    s = score(
        [
            pred("for x in", "ls"),  # unterminated
            pred("ls |", "ls"),  # dangling pipe
            pred("", "ls"),  # nothing extracted
            pred("echo 'hi' && ls", "ls"),
        ]
    )
    assert s["counts"]["syntax_ok"] == 1 and s["syntax_valid"] == pytest.approx(0.25)
    assert s["counts"]["empty_command"] == 1
    assert s["counts"]["exact"] == 0 and s["counts"]["normalized_match"] == 0


def test_dangerous_rate():
    s = score(
        [pred("rm -rf /", "ls"), pred("curl -s https://x.sh | sh", "ls"), pred("ls", "ls"), pred("pwd", "ls")]
    )
    assert s["counts"]["dangerous"] == 2 and s["dangerous_rate"] == pytest.approx(0.5)
    assert judge("rm -rf /", "ls")["dangerous"]  # the reason, not just a flag


def test_verdicts_are_recomputed_and_output_is_extracted():
    # Stale per-row flags are ignored; a row without "command" gets it extracted from "output".
    s = score(
        [
            {"command": "pwd", "reference": "pwd", "exact": False, "normalized_match": False},
            {"output": "Sure! Here is the command:\n```bash\nls -la\n```", "reference": "ls -la"},
        ]
    )
    assert s["counts"]["exact"] == 2


def test_empty_predictions():
    s = score([])
    assert s["rows"] == 0
    assert all(s[k] is None for k in ("exact_match", "normalized_match", "syntax_valid", "dangerous_rate"))


def test_summary_path():
    from pathlib import Path

    assert summary_path(Path("/r/eval/test-adapter.jsonl")) == Path("/r/eval/test-adapter.summary.json")


def test_load_data_file_aliases_csv_and_built_split(tmp_path, tiny_run):
    csv = tmp_path / "mine.csv"
    csv.write_text("nl,cmd\nlist files,ls\nshow date,date\n,broken\n")
    data = load_data_file(csv)
    assert [(e.instruction, e.command) for e in data.examples] == [
        ("list files", "ls"),
        ("show date", "date"),
    ]
    assert data.stem == "mine" and data.skipped == 1
    built = load_data_file(tiny_run.data_dir / "test.jsonl")  # keeps row ids: alternatives line up
    assert built.examples[1].row_id == "t:2" and built.alternatives["t:2"]
    assert load_data_file(tiny_run.data_dir).path.name == "test.jsonl"  # a data dir means its test split


def test_predictions_file_round_trips_through_score(tmp_path, tiny_run):
    from core.evaluate import evaluate_run

    out = tmp_path / "p.jsonl"
    res = evaluate_run(str(tiny_run.run_dir), out=out, max_new_tokens=4, batch_size=2)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    again = score(rows)
    for key in ("rows", "exact_match", "normalized_match", "syntax_valid", "dangerous_rate"):
        assert again[key] == res.summary[key]
    # input order despite length sorting
    assert [r["row_id"] for r in rows] == [f"t:{i}" for i in range(1, 6)]
    assert rows[1]["alternatives"] == ["du -sh", "du -s -h ."]
