"""Export and merge from the Runs pane (dialogs → `tuner export`/`tuner merge` with progress), and
merged runs and merged exports in the runs list and the playground. Keyboard first, at 80×24.

The commands are stand-ins (a Python one-liner printing what the CLI prints), so these tests do not
load a model; test_tui_jobs_argv checks the real command lines against `tuner`'s own parser.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from test_tui_app import SIZE, text_of, wait_until
from tui_support import FAILED_RUN, FINISHED_RUN, FIXED_NOW, fixed_clock

from tuner_tui import jobs
from tuner_tui.app import TunerApp
from tuner_tui.messages import ExportRequested
from tuner_tui.widgets.export_dialog import ExportScreen
from tuner_tui.widgets.merge_dialog import MergeScreen

pytestmark = pytest.mark.anyio
PY = sys.executable
QUANTS = {"f16": None, "bf16": None, "q8_0": None, "q4_k_m": "needs llama.cpp's quantizer: pip install it"}


def fake_cli(*lines: str, code: int = 0, pause: float = 0.2) -> list[str]:
    """A command that prints these lines (a pause between them) and exits with `code`, as the CLI would."""
    script = (
        f"import time\nfor line in {list(lines)!r}:\n    print(line, flush=True)\n    time.sleep({pause})\n"
        f"raise SystemExit({code})"
    )
    return [PY, "-c", script]


@pytest.fixture
def quants(monkeypatch):
    import core.export.gguf

    monkeypatch.setattr(core.export.gguf, "available_quants", lambda: dict(QUANTS))


def recording(monkeypatch, name: str, argv: list[str]) -> list[tuple]:
    """Replace jobs.<name> (export_argv/merge_argv) by one that records its call and returns argv."""
    calls: list[tuple] = []

    def fake(*args, **kwargs):
        calls.append((args, kwargs))
        return argv

    monkeypatch.setattr(jobs, name, fake)
    return calls


def job_line(app) -> str:
    return text_of(app.runs_pane, "#runs-job")


async def select_run(pilot, app, name: str) -> None:
    await wait_until(pilot, lambda: app.runs_pane.loaded, what="runs listed")
    table = app.runs_pane.table
    row = next(i for i, r in enumerate(app.runs_pane.infos) if r.name == name)
    table.move_cursor(row=row)
    await pilot.pause(0.05)


# ---------------------------------------------------------------------------------- export


async def test_export_dialog_runs_tuner_export_with_progress_and_the_path(runs_dir, quants, monkeypatch):
    out = runs_dir / FINISHED_RUN / "exports" / "gguf-q8_0"
    calls = recording(
        monkeypatch,
        "export_argv",
        fake_cli(
            "merging adapter into embedded:smollm2-135m-instruct …", f"exported gguf-q8_0 (1 MiB) → {out}"
        ),
    )
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await select_run(pilot, app, FINISHED_RUN)
        assert "e Export" in text_of(app, "#keys")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), what="export dialog")
        dialog = app.screen
        dialog.query_one("#ex-gguf").value = True
        await pilot.pause(0.1)
        quant = dialog.query_one("#ex-quant")
        options = {
            quant.get_option_at_index(i).id: quant.get_option_at_index(i) for i in range(quant.option_count)
        }
        assert options["q4_k_m"].disabled and not options["q8_0"].disabled  # unavailable: shown, not pickable
        assert "needs llama.cpp's quantizer: pip install it" in text_of(dialog, "#ex-quant-note")
        assert not dialog.query_one("#ex-ollama").disabled
        quant.highlighted = list(options).index("q8_0")
        dialog.query_one("#ex-ollama").value = True
        await pilot.pause(0.05)
        assert "exports/gguf-q8_0/" in text_of(dialog, "#ex-target")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0], what="dialog closed")
        await wait_until(pilot, lambda: "merging adapter" in job_line(app), what="progress line")
        assert "export gguf-q8_0 of " + FINISHED_RUN in job_line(app)
        await wait_until(pilot, lambda: "✓" in job_line(app), what="export finished")
        assert job_line(app).strip().endswith(f"→ {out}")
        # the notification follows the last progress update (posted from the worker thread)
        await wait_until(
            pilot, lambda: any(str(out) in n.message for n in app._notifications), what="done notification"
        )
    (run_dir, fmt), kwargs = calls[0]
    assert (Path(run_dir).name, fmt) == (FINISHED_RUN, "gguf")
    assert kwargs["quant"] == "q8_0" and kwargs["ollama"] and not kwargs["force"]
    assert kwargs["root"] == runs_dir


async def test_a_failed_export_shows_its_error_and_a_second_job_is_refused(runs_dir, quants, monkeypatch):
    recording(
        monkeypatch, "export_argv", fake_cli("merging …", "error: not enough RAM (close something)", code=2)
    )
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await select_run(pilot, app, FINISHED_RUN)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), what="export dialog")
        assert app.screen.query_one("#ex-ollama").disabled  # merged: Ollama needs a GGUF
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "merging" in job_line(app), what="progress")
        app.runs_pane.post_message(ExportRequested(runs_dir / FINISHED_RUN, "adapter"))  # a second one
        await wait_until(
            pilot, lambda: any("still running" in n.message for n in app._notifications), what="refusal"
        )
        await wait_until(pilot, lambda: "✗" in job_line(app), what="failure")
        assert "failed: not enough RAM (close something)" in job_line(app)


async def test_export_of_a_running_run_is_refused_in_one_line(live_run):
    app = TunerApp(runs_dir=live_run.parent, clock=time.time, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.runs_pane.infos, what="runs")
        app.action_pane("runs")
        await pilot.press("e")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ExportScreen)
        assert any("still training" in n.message for n in app._notifications)


def test_tui_jobs_argv_are_what_tuner_parses(tmp_path):
    from core.cli import build_parser

    argv = jobs.export_argv(tmp_path / "run", "gguf", quant="q8_0", ollama=True, force=True, root=tmp_path)
    assert argv[:3] == [PY, "-m", "core.cli"]
    args = build_parser().parse_args(argv[3:])
    assert (args.run, args.format, args.quant, args.ollama, args.force, args.runs_dir) == (
        str(tmp_path / "run"), "gguf", "q8_0", True, True, str(tmp_path),
    )  # fmt: skip
    argv = jobs.merge_argv(
        [tmp_path / "a", tmp_path / "b"], "ab", method="ties", weights=[0.7, 0.3], density=0.5, root=tmp_path
    )
    args = build_parser().parse_args(argv[3:])
    assert (args.runs, args.out, args.method, args.weights, args.density) == (
        [str(tmp_path / "a"), str(tmp_path / "b")], "ab", "ties", "0.7,0.3", 0.5,
    )  # fmt: skip


def test_job_result_is_the_path_or_the_error_line():
    done = jobs.Job(
        "export", "x", [], lines=["merging …", "exported merged (1 MiB) in 2 s → /r/exports/merged"]
    )
    done.returncode = 0
    assert done.result() == "/r/exports/merged"
    failed = jobs.Job("export", "x", [], lines=["merging …", "error: disk full (free 2 GiB)"])
    failed.returncode = 2
    assert failed.result() == "disk full (free 2 GiB)"


# ---------------------------------------------------------------------------------- merge


async def test_mark_two_runs_and_merge_them(runs_dir, monkeypatch):
    calls = recording(monkeypatch, "merge_argv", fake_cli("merged 2 adapters (linear) → /r/ab"))
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await select_run(pilot, app, FINISHED_RUN)
        await pilot.press("m")
        assert any("mark two or more runs" in n.message for n in app._notifications)
        await pilot.press("space")
        await select_run(pilot, app, FAILED_RUN)
        await pilot.press("space")
        table = app.runs_pane.table
        assert str(table.get_cell(str(runs_dir / FINISHED_RUN), "run")).startswith("● ")
        assert "2 marked" in text_of(app.runs_pane, "#runs-detail")
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, MergeScreen), what="merge dialog")
        dialog = app.screen
        assert dialog.query_one("#mg-weights").value == "0.5,0.5"
        assert dialog.query_one("#mg-out").value == f"merge-{FINISHED_RUN}-{FAILED_RUN}"
        assert dialog.query_one("#mg-density").disabled  # linear keeps every entry
        dialog.query_one("#mg-weights").value = "1"
        await pilot.press("ctrl+s")
        assert "one per run (2)" in text_of(dialog, "#mg-error") and app.screen is dialog
        dialog.query_one("#mg-weights").value = "0.7,0.3"
        dialog.query_one("#mg-out").value = "ab"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "✓" in job_line(app), what="merge finished")
        assert "merge into ab → /r/ab" in job_line(app)
        assert app.runs_pane.marked == []
    (runs, out), kwargs = calls[0]
    assert [Path(r).name for r in runs] == [FINISHED_RUN, FAILED_RUN] and out == "ab"
    assert kwargs["method"] == "linear" and kwargs["weights"] == [0.7, 0.3] and kwargs["density"] is None


def write_merged_run(root: Path, name: str, sources: list[Path]) -> Path:
    """A run-like folder as `tuner merge` writes it (core.adapter_merge._write_record's files)."""
    run = root / name
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "preset.toml").write_text((sources[0] / "preset.toml").read_text())
    merge = {"sources": [{"run": str(s), "r": 8} for s in sources], "weights": [0.5, 0.5], "method": "linear"}
    (run / "provenance.json").write_text(json.dumps({"created": FIXED_NOW, "extra": {"merge": merge}}))
    event = {"v": 1, "type": "finished", "time": FIXED_NOW, "status": "finished", "step": 0,
             "adapter_dir": str(run / "adapter"), "elapsed_s": 3.0, "reason": "merge"}  # fmt: skip
    (run / "events.jsonl").write_text(json.dumps(event) + "\n")
    return run


async def test_a_merged_run_is_listed_as_merged_and_offered_in_the_playground(runs_dir):
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        pg = app.playground
        await wait_until(pilot, lambda: pg.choices, what="model choices")
        before = [pg._choice_of(pg.query_one(s).value).label for s in ("#pg-a", "#pg-b")]
        merged = write_merged_run(runs_dir, "merge-ab", [runs_dir / FINISHED_RUN, runs_dir / FAILED_RUN])
        app.runs_pane.refresh_runs()
        await wait_until(pilot, lambda: any(r.name == "merge-ab" for r in app.runs_pane.infos), what="merge")
        await select_run(pilot, app, "merge-ab")
        assert str(app.runs_pane.table.get_cell(str(merged), "status")).endswith("merged")
        assert f"linear merge of {FINISHED_RUN} + {FAILED_RUN}" in text_of(app.runs_pane, "#runs-detail")
        await wait_until(
            pilot, lambda: any(c.label == "merge-ab · adapter" for c in pg.choices.values()), what="choice"
        )
        # A and B keep their models (B's base is now read from the merge, the newest run with it)
        assert [pg._choice_of(pg.query_one(s).value).label for s in ("#pg-a", "#pg-b")] == before


# ---------------------------------------------------------------------------------- playground


async def test_a_merged_export_loads_as_a_playground_model(runs_dir, monkeypatch):
    from types import SimpleNamespace

    import core.generate
    from tuner_tui import hf_loading

    folder = runs_dir / FINISHED_RUN / "exports" / "merged"
    loads = []

    def fake_load(run_dir, base=False, checkpoint=None, preset=None, export=None):
        loads.append(export)
        return SimpleNamespace(model="export")

    def fake_stream(loaded, prompt, max_new_tokens=128, stop=None):
        yield "ls -la"

    monkeypatch.setattr(hf_loading, "load_run_model", fake_load)
    monkeypatch.setattr(core.generate, "stream_reply", fake_stream)
    app = TunerApp(clock=fixed_clock, start_pane="playground", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        pg = app.playground
        await wait_until(pilot, lambda: pg.choices, what="model choices")
        before = [pg._choice_of(pg.query_one(s).value) for s in ("#pg-a", "#pg-b")]
        assert before[0].label.endswith("· adapter") and before[1].base
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        (folder / "manifest.json").write_text(json.dumps({"format": "merged", "created": FIXED_NOW}))
        gguf = runs_dir / FINISHED_RUN / "exports" / "gguf-f16"  # not a transformers model: not offered
        gguf.mkdir()
        (gguf / "manifest.json").write_text(json.dumps({"format": "gguf", "created": FIXED_NOW}))
        app.runs_pane.refresh_runs()  # the export appears with the next listing
        await wait_until(
            pilot, lambda: any("export" in c.label for c in pg.choices.values()), what="the export offered"
        )
        # A and B still show what they showed, though the list grew in the middle
        assert [pg._choice_of(pg.query_one(s).value) for s in ("#pg-a", "#pg-b")] == before
        labels = {c.label: key for key, c in pg.choices.items()}
        assert f"{FINISHED_RUN} · export merged" in labels
        assert not any("gguf" in label for label in labels)
        pg.query_one("#pg-a").value = labels[f"{FINISHED_RUN} · export merged"]
        app.query_one("#pg-prompt").value = "list files"
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: "no destructive" in text_of(pg.query_one("#pg-out-a"), ".answer-command")
        )
    assert str(folder) in loads


async def test_quitting_interrupts_a_running_export(runs_dir, monkeypatch):
    recording(monkeypatch, "export_argv", fake_cli("merging …", "never printed", pause=60))
    app = TunerApp(clock=fixed_clock, start_pane="runs", attach_running=False)
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(ExportRequested(runs_dir / FINISHED_RUN, "merged"))
        await wait_until(pilot, lambda: "merging" in job_line(app), what="progress")
        job = app.job_control.job
    # SIGINT: the CLI removes its staging folder and ends. No deadline of our own (a loaded CI machine is
    # slow, not broken): the fake would print its second line after 60 s and exit 0 only after 120 s.
    code = job.popen.wait(timeout=110)
    assert code != 0  # interrupted, not run to its end
