"""`tuner generate / chat / eval` in-process on the tiny run; core.run_model loading and errors."""

from __future__ import annotations

import io
import json
import shutil
import threading

import pytest

from core.cli import main
from core.errors import TunerError

pytestmark = pytest.mark.usefixtures("keep_torch_threads")

METRICS = ("exact_match", "normalized_match", "syntax_valid", "dangerous_rate")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def make_checkpoint(run_dir, step, adapter, *, complete=True):
    ck = run_dir / "checkpoints" / f"checkpoint-{step}"
    shutil.copytree(adapter, ck)
    if complete:
        (ck / "COMPLETE").touch()
    return ck


# ---------------------------------------------------------------------------------- generate


def test_generate_prints_answer_and_command(capsys, tiny_run):
    code, out, err = run_cli(capsys, "generate", tiny_run.run_dir, "list all files", "--max-new-tokens", 4)
    assert code == 0, err
    assert "command:" in out
    assert "tiny-20260101-000000/adapter" in err  # which weights answered


def test_generate_base_and_run_name_lookup(capsys, tiny_run):
    root = tiny_run.run_dir.parent
    code, out, err = run_cli(
        capsys, "generate", "tiny", "list all files", "--base", "--max-new-tokens", 3, "--runs-dir", root
    )
    assert code == 0, err
    assert "command:" in out and f"base: {tiny_run.model_dir}" in err


def test_generate_flags_dangerous_commands(capsys, monkeypatch, tiny_run):
    import core.generate

    real = core.generate.generate_batch

    def fake(model, tok, prompts, **kw):
        real(model, tok, prompts, **{**kw, "max_new_tokens": 1})  # the model still runs
        return [core.generate.answer_from_text(prompts[0], "```bash\nrm -rf /\n```")]

    monkeypatch.setattr(core.generate, "generate_batch", fake)
    code, out, _ = run_cli(capsys, "generate", tiny_run.run_dir, "wipe everything")
    assert code == 0
    assert "command: rm -rf /" in out
    assert "DANGEROUS: recursive delete of /" in out


def test_unknown_run_is_one_line_exit_2(capsys, tiny_run):
    code, out, err = run_cli(capsys, "generate", "nope", "hi", "--runs-dir", tiny_run.run_dir.parent)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no run matches 'nope'")
    assert "Traceback" not in out + err


def test_run_without_adapter_suggests_checkpoint(capsys, tmp_path, tiny_run):
    run = tiny_run.copy(tmp_path, adapter=False)
    code, _, err = run_cli(capsys, "generate", run, "hi", "--max-new-tokens", 2)
    assert code == 2 and "has no adapter yet" in err and "--base" in err and "Traceback" not in err

    make_checkpoint(run, 2, tiny_run.run_dir / "adapter")
    # an interrupted save is never loaded
    make_checkpoint(run, 4, tiny_run.run_dir / "adapter", complete=False)
    code, _, err = run_cli(capsys, "generate", run, "hi", "--max-new-tokens", 2)
    assert code == 2 and "--checkpoint latest (checkpoint-2)" in err

    code, out, err = run_cli(capsys, "generate", run, "hi", "--checkpoint", "latest", "--max-new-tokens", 2)
    assert code == 0 and "command:" in out and f"{run.name}/checkpoint-2" in err
    code, _, err = run_cli(capsys, "generate", run, "hi", "--checkpoint", "4")
    assert code == 2 and "incomplete" in err


def test_broken_adapter_is_one_line(capsys, tmp_path, tiny_run):
    run = tiny_run.copy(tmp_path)
    (run / "adapter" / "adapter_model.safetensors").unlink()
    code, _, err = run_cli(capsys, "generate", run, "hi")
    assert (
        code == 2 and err.startswith("error: cannot load the adapter") and len(err.strip().splitlines()) == 1
    )


# ---------------------------------------------------------------------------------- chat


def test_chat_reads_piped_prompts(capsys, monkeypatch, tiny_run):
    monkeypatch.setattr("sys.stdin", io.StringIO("list all files\n\nshow disk usage\n/quit\nnever asked\n"))
    code, out, err = run_cli(capsys, "chat", tiny_run.run_dir, "--max-new-tokens", 4)
    assert code == 0, err
    assert "> list all files" in out and "> show disk usage" in out
    assert out.count("command:") == 2
    assert "never asked" not in out


def test_chat_ends_at_eof(capsys, monkeypatch, tiny_run):
    monkeypatch.setattr("sys.stdin", io.StringIO("pwd please"))  # no trailing newline, no /quit
    code, out, _ = run_cli(capsys, "chat", tiny_run.run_dir, "--base", "--max-new-tokens", 2)
    assert code == 0 and out.count("command:") == 1


def test_chat_ctrl_c_stops_only_that_answer(capsys, monkeypatch, tiny_run):
    import core.generate

    calls = []

    def interrupted(loaded, prompt, *, max_new_tokens, stop):
        calls.append(prompt)
        yield "ls -la"
        if len(calls) == 1:
            raise KeyboardInterrupt
        yield " /tmp"

    monkeypatch.setattr(core.generate, "stream_reply", interrupted)
    monkeypatch.setattr("sys.stdin", io.StringIO("first\nsecond\n"))
    code, out, _ = run_cli(capsys, "chat", tiny_run.run_dir)
    assert code == 0 and calls == ["first", "second"]
    assert "(answer stopped)" in out and "command: ls -la /tmp" in out


def test_stream_reply_stop_ends_generation(tiny_run):
    from core.generate import stream_reply
    from core.run_model import load_for_inference

    loaded = load_for_inference(str(tiny_run.run_dir))
    full = "".join(stream_reply(loaded, "list files", max_new_tokens=40))
    stop = threading.Event()
    stop.set()  # as if Ctrl-C came before the first token
    cut = "".join(stream_reply(loaded, "list files", max_new_tokens=40, stop=stop))
    assert (
        len(loaded.tokenizer(cut, add_special_tokens=False)["input_ids"])
        <= 2
        < len(loaded.tokenizer(full, add_special_tokens=False)["input_ids"])
    )
    assert not [th for th in threading.enumerate() if th.daemon and th.is_alive() and "work" in th.name]


# ---------------------------------------------------------------------------------- eval


def test_eval_writes_predictions_and_summary(capsys, tmp_path, tiny_run):
    out_file = tmp_path / "preds.jsonl"
    code, out, err = run_cli(capsys, "eval", tiny_run.run_dir, "--out", out_file, "--batch-size", 2)
    assert code == 0, err
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(rows) == tiny_run.test_rows
    assert set(rows[0]) >= {
        "row_id",
        "instruction",
        "reference",
        "output",
        "command",
        "exact",
        "normalized_match",
        "syntax_ok",
        "dangerous",
    }
    summary = json.loads((tmp_path / "preds.summary.json").read_text())
    assert summary["rows"] == tiny_run.test_rows and summary["seconds"] >= 0
    for key in METRICS:
        assert 0.0 <= summary[key] <= 1.0
    # the preset's eval.max_new_tokens
    assert summary["alternatives"] is True and summary["max_new_tokens"] == 6
    for title in ("exact match", "normalized match", "bash syntax valid", "dangerous commands"):
        assert title in out


def test_eval_default_out_base_and_before_after_table(capsys, tmp_path, tiny_run):
    run = tiny_run.copy(tmp_path)
    code, out, err = run_cli(capsys, "eval", run, "--limit", 3, "--max-new-tokens", 3)
    assert code == 0, err
    assert (run / "eval" / "test-adapter.jsonl").is_file() and (
        run / "eval" / "test-adapter.summary.json"
    ).is_file()
    assert len((run / "eval" / "test-adapter.jsonl").read_text().splitlines()) == 3
    code, out, err = run_cli(capsys, "eval", run, "--limit", 3, "--max-new-tokens", 3, "--base")
    assert code == 0, err
    base = json.loads((run / "eval" / "test-base.summary.json").read_text())
    assert base["mode"] == "base" and base["model"].startswith("base: ")
    assert "after − before" in out  # the adapter's earlier eval on the same rows is shown beside it


def test_eval_on_any_data_file(capsys, tmp_path, tiny_run):
    run = tiny_run.copy(tmp_path)
    data = tmp_path / "extra.csv"
    data.write_text("question,bash\nlist files,ls\nprint the date,date\n")
    code, _, err = run_cli(capsys, "eval", run, "--data", data, "--max-new-tokens", 2)
    assert code == 0, err
    preds = [json.loads(line) for line in (run / "eval" / "extra-adapter.jsonl").read_text().splitlines()]
    assert [p["reference"] for p in preds] == ["ls", "date"]


def test_eval_rebuilds_a_missing_data_dir(capsys, tmp_path, monkeypatch, tiny_run):
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data-cache"))
    run = tiny_run.copy(tmp_path)
    prov = json.loads((run / "provenance.json").read_text())
    prov["extra"]["data_dir"] = str(tmp_path / "gone")
    (run / "provenance.json").write_text(json.dumps(prov))
    code, _out, err = run_cli(
        capsys, "eval", run, "--limit", 2, "--max-new-tokens", 2, "--out", tmp_path / "p.jsonl"
    )
    assert code == 0, err
    assert "rebuilt from the run's preset" in err
    summary = json.loads((tmp_path / "p.summary.json").read_text())
    assert summary["rows"] == 2 and str(tmp_path / "data-cache") in summary["data"]


def test_eval_bad_data_file_fails_before_loading(capsys, tmp_path, tiny_run):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no fields here"}\n')
    code, _, err = run_cli(capsys, "eval", tiny_run.run_dir, "--data", bad)
    assert code == 2 and "no instruction column" in err and "Traceback" not in err


def test_load_for_inference_api(tiny_run):
    from core.run_model import load_for_inference

    loaded = load_for_inference(str(tiny_run.run_dir))
    assert loaded.label == "tiny-20260101-000000/adapter" and loaded.style == "chat"
    assert loaded.run_dir == tiny_run.run_dir and loaded.preset.name == "tiny"
    assert type(loaded.model).__name__ == "PeftModelForCausalLM" and not loaded.model.training
    base = load_for_inference("latest", base=True, runs_root=tiny_run.run_dir.parent)
    assert base.label == f"base: {tiny_run.model_dir}" and base.weights_dir is None
    with pytest.raises(TunerError, match="not both"):
        load_for_inference(str(tiny_run.run_dir), base=True, checkpoint="latest")


def test_checkpoint_best_and_names(tmp_path, tiny_run):
    from core.events import EventWriter, Finished
    from core.run_model import checkpoint_dir

    run = tiny_run.copy(tmp_path)
    for step in (2, 4):
        make_checkpoint(run, step, tiny_run.run_dir / "adapter")
    with EventWriter(run / "events.jsonl") as w:
        w.write(
            Finished(
                status="finished",
                step=4,
                adapter_dir=str(run / "adapter"),
                reason="max_steps",
                best_checkpoint=str(run / "checkpoints" / "checkpoint-2"),
                best_val_loss=1.0,
                elapsed_s=1.0,
            )
        )
    assert checkpoint_dir(run, "best").name == "checkpoint-2"
    assert checkpoint_dir(run, "latest").name == "checkpoint-4"
    assert checkpoint_dir(run, "checkpoint-4") == checkpoint_dir(run, "4")
    with pytest.raises(TunerError, match=r"no checkpoint '9'.*checkpoint-2, checkpoint-4"):
        checkpoint_dir(run, "9")


def test_fit_cpu_threads(monkeypatch):
    import os

    import torch

    from core.run_model import fit_cpu_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(4)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (8.0, 8.0, 8.0))
    assert fit_cpu_threads() == 1 and calls == [1]  # busy machine: one thread
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert fit_cpu_threads() == 3  # one core taken
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert fit_cpu_threads() is None  # idle: torch's default stays
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(os, "getloadavg", lambda: (8.0, 8.0, 8.0))
    assert fit_cpu_threads() is None  # the user's setting wins


# ---------------------------------------------------------------------------------- terminal safety

HOSTILE = "list \x1b[2Jfiles \x1b]0;pwned title\x07 now\r\x9b31m"


def test_a_piped_prompt_s_escape_sequences_are_shown_not_obeyed(capsys, monkeypatch, tiny_run):
    monkeypatch.setattr("sys.stdin", io.StringIO(HOSTILE + "\n"))
    code, out, err = run_cli(capsys, "chat", tiny_run.run_dir, "--max-new-tokens", 2)
    assert code == 0, err
    assert not any(c in out for c in "\x1b\x07\r\x9b"), repr(out)
    assert "> list ␛[2Jfiles ␛]0;pwned title␇ now" in out, "what was typed stays readable"


def test_model_output_is_sanitized_before_the_terminal(capsys, monkeypatch, tiny_run):
    import core.generate

    real = core.generate.generate_batch

    def hostile(model, tok, prompts, **kw):
        real(model, tok, prompts, **{**kw, "max_new_tokens": 1})  # the model still runs
        return [core.generate.answer_from_text(prompts[0], "```bash\nls\x1b]0;x\x07 -la\n```\x1b[2J")]

    monkeypatch.setattr(core.generate, "generate_batch", hostile)
    code, out, err = run_cli(capsys, "generate", tiny_run.run_dir, "list files")
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "␛]0;x␇" in out


def test_an_empty_prompt_is_refused_in_one_line(capsys, tiny_run):
    code, _out, err = run_cli(capsys, "generate", tiny_run.run_dir, "   ")
    assert code == 2 and "the prompt is empty" in err and len(err.strip().splitlines()) == 1


def test_visible_keeps_text_and_shows_every_control():
    from core.terminal_text import visible

    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible("\x1b[31m\x07\x00\x7f\x9b") == "␛[31m␇␀␡\\x9b"
    assert visible("ünïcödé ✓") == "ünïcödé ✓"
