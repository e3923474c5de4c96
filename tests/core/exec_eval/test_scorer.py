"""ExecScorer on a shipped fixture, for real: equivalent commands are right, others wrong, bad references excluded."""

from __future__ import annotations

import pytest

from core.exec_eval.scorer import ExecScorer, summarize

pytestmark = pytest.mark.usefixtures("sandbox_ready")


def row(reference: str, command: str, **kw) -> dict:
    return {"reference": reference, "command": command, "fixture": "codebase", **kw}


@pytest.fixture(scope="module")
def scorer():
    with ExecScorer(workers=2) as s:
        yield s


def test_equivalent_commands_are_right(scorer: ExecScorer) -> None:
    v = scorer.judge(row("find . -name '*.py' | wc -l", 'find . -type f -name "*.py" | wc -l'))
    assert v["right"] is True and v["matched"] == "reference"
    v = scorer.judge(row("ls", "ls -1"))
    assert v["right"] is True


def test_a_different_answer_is_wrong_with_the_reason(scorer: ExecScorer) -> None:
    v = scorer.judge(row("find . -name '*.py' | wc -l", "ls | wc -l"))
    assert v["right"] is False and v["stdout"] == "differs" and v["reason"] == "different output"
    v = scorer.judge(row("ls", "ls no-such-dir"))
    assert v["right"] is False and v["reason"].startswith("exit status")


def test_a_change_to_the_files_must_match(scorer: ExecScorer) -> None:
    v = scorer.judge(row("mkdir -p out && ls -d out", "mkdir out2 && echo out"))
    assert v["right"] is False and v["tree"].startswith("differs")
    assert scorer.judge(row("mkdir -p out && ls -d out", "mkdir out; ls -d out"))["right"] is True


def test_an_alternative_can_be_the_match(scorer: ExecScorer) -> None:
    v = scorer.judge(row("ls", "ls -a | grep -v '^\\.'", alternatives=["ls -1"]))
    assert v["right"] is True


def test_a_failing_reference_excludes_the_row(scorer: ExecScorer) -> None:
    v = scorer.judge(row("cat no-such-file", "pwd"))
    assert v["right"] is None and "reference fails" in v["excluded"]


def test_an_unknown_fixture_excludes_the_row_in_one_line(scorer: ExecScorer) -> None:
    v = scorer.judge({"reference": "pwd", "command": "pwd", "fixture": "nope"})
    assert v["right"] is None and "nope" in v["excluded"] and "\n" not in v["excluded"]


def test_the_answer_as_written_is_judged_too(scorer: ExecScorer) -> None:
    v = scorer.judge(row("ls", "ls", output="Sure! Run `ls` to list them."))
    assert v["right"] is True and v["raw_right"] is False


def test_summary_counts_rows_categories_and_exclusions(scorer: ExecScorer) -> None:
    rows = [
        row("ls", "ls", category="files"),
        row("ls", "pwd", category="files"),
        row("pwd", "pwd", category="system"),
        row("cat no-such-file", "pwd", category="system"),
    ]
    s = summarize(scorer.judge_all(rows), [r["category"] for r in rows])
    assert s["exec_rows"] == 3 and s["exec_right"] == 2 and s["exec_excluded"] == 1
    assert s["exec_accuracy"] == pytest.approx(2 / 3)
    assert s["reference_pass_rate"] == pytest.approx(3 / 4)
    assert s["exec_by_category"]["files"] == {"rows": 2, "right": 1, "accuracy": 0.5}
