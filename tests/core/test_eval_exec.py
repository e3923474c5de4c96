"""`tuner eval --exec`, `--few-shot` and `tuner eval --score`: the real sandbox, the real CLI, files read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main
from core.errors import TunerError
from core.evaluate import few_shot_examples

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_eval_exec_runs_the_answers_on_the_shipped_set(capsys, tmp_path, tiny_run, sandbox_ready):
    run = tiny_run.copy(tmp_path)
    code, out, err = run_cli(capsys, "eval", run, "--exec", "--limit", 6, "--max-new-tokens", 4)
    assert code == 0, err
    assert "exec accuracy" in out and "answer as written" in out
    preds = read_jsonl(run / "eval" / "bash_exec-adapter.jsonl")
    assert len(preds) == 6
    for p in preds:
        assert p["fixture"] and p["category"]
        assert p["exec"]["fixture"] == p["fixture"]
        assert p["exec"]["right"] in (True, False)  # the shipped references all pass their own check
    summary = json.loads((run / "eval" / "bash_exec-adapter.summary.json").read_text())
    assert summary["exec_rows"] == 6 and summary["exec_excluded"] == 0
    assert summary["exec_right"] == sum(p["exec"]["right"] for p in preds)
    assert sum(c["rows"] for c in summary["exec_by_category"].values()) == 6


def test_few_shot_examples_come_from_train_and_are_stable(tmp_path, tiny_run):
    run = tiny_run.copy(tmp_path)
    prov = json.loads((run / "provenance.json").read_text())
    data_dir = Path(prov["extra"]["data_dir"])
    train = tmp_path / "data"
    train.mkdir()
    rows = [
        {"instruction": f"task {i}", "command": cmd, "source": "t", "row_id": f"t:{i}"}
        for i, cmd in enumerate(["ls -la", "ls", "pwd", "du -sh .", "wc -l a", "echo " + "x" * 90])
    ]
    (train / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    prov["extra"]["data_dir"] = str(train)
    (run / "provenance.json").write_text(json.dumps(prov))
    shots = few_shot_examples(run, 3)
    assert len(shots) == 3 and shots == few_shot_examples(run, 3)
    assert len({s[1].split()[0] for s in shots}) == 3  # different programs
    assert all(len(cmd) <= 80 for _, cmd in shots)
    assert data_dir.is_dir()


def test_few_shot_without_a_train_split_is_one_line(tmp_path, tiny_run):
    with pytest.raises(TunerError, match="--few-shot needs the run's train split"):
        few_shot_examples(tiny_run.copy(tmp_path), 2)


def test_few_shot_prompt_holds_the_examples(smol_tokenizer):
    from core.data.formatting import prompt_text

    shots = [("list files", "ls"), ("where am I", "pwd")]
    plain = prompt_text(smol_tokenizer, "count lines", "instruction", shots=shots)
    assert plain == (
        "Instruction: list files\n\nResponse: ls\n\nInstruction: where am I\n\nResponse: pwd\n\n"
        "Instruction: count lines\n\nResponse:"
    )
    chat = prompt_text(smol_tokenizer, "count lines", "chat", shots=shots)
    assert chat.index("list files") < chat.index("ls") < chat.index("where am I") < chat.index("count lines")
    assert prompt_text(smol_tokenizer, "count lines", "chat") not in ("", chat)


# ---------------------------------------------------------------------------------- --score


def write_preds(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_score_a_predictions_file_with_exec(capsys, tmp_path, sandbox_ready):
    preds = write_preds(
        tmp_path / "other.jsonl",
        [
            {
                "instruction": "count py",
                "reference": "find . -name '*.py' | wc -l",
                "prediction": 'Here is the command:\n```bash\nfind . -type f -name "*.py" | wc -l\n```',
                "fixture": "codebase",
                "category": "files",
            },
            {"instruction": "where", "reference": "pwd", "prediction": "ls", "category": "system"},
            {"instruction": "broken", "reference": "cat missing.txt", "prediction": "pwd"},
            "not json",
            {"instruction": "no reference", "prediction": "ls"},
        ],
    )
    code, out, err = run_cli(capsys, "eval", "--score", preds, "--exec")
    assert code == 0, err
    assert f"{preds}:4: not JSON" in err and f"{preds}:5: no 'reference'" in err
    rows = read_jsonl(tmp_path / "other.scored.jsonl")
    assert [r["exec"]["right"] for r in rows] == [True, False, None]
    assert (
        rows[0]["command"] == 'find . -type f -name "*.py" | wc -l' and rows[0]["exec"]["raw_right"] is False
    )
    assert rows[1]["exec"]["fixture"] == "homedir" and rows[1]["exec"]["stdout"] == "differs"
    assert "reference fails" in rows[2]["exec"]["excluded"]
    summary = json.loads((tmp_path / "other.scored.summary.json").read_text())
    assert summary["exec_accuracy"] == 0.5 and summary["exec_accuracy_raw"] == 0.0
    assert summary["exec_excluded"] == 1 and summary["skipped_rows"] == 2
    assert "exec accuracy" in out and "50.0% (1/2)" in out


def test_score_without_exec_scores_strings_only(capsys, tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", [{"reference": "ls -la", "prediction": "ls  -la"}])
    code, _, err = run_cli(capsys, "eval", "--score", preds, "--out", tmp_path / "s.jsonl")
    assert code == 0, err
    row = read_jsonl(tmp_path / "s.jsonl")[0]
    assert row["normalized_match"] is True and "exec" not in row


def test_score_bad_input_is_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "eval", "--score", tmp_path / "nope.jsonl")
    assert code != 0 and "does not exist" in err and "Traceback" not in err
    empty = write_preds(tmp_path / "empty.jsonl", ["{}"])
    code, _, err = run_cli(capsys, "eval", "--score", empty)
    assert code != 0 and "no rows to score" in err
    code, _, err = run_cli(capsys, "eval", "latest", "--score", empty)
    assert code == 2 and "not both" in err
