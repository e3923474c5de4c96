"""The Playground's A/B run in the sandbox: the two answers run on a fixture for real, side by side, never on the host."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_app import SIZE, text_of, wait_until
from tui_support import FINISHED_RUN, fixed_clock

from tuner_tui.app import TunerApp

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("sandbox_ready")]


@pytest.fixture
def answers(monkeypatch):
    """Stand-in models (the sandbox is the real thing under test): A deletes, B lists."""
    from types import SimpleNamespace

    import core.generate
    from tuner_tui import hf_loading

    def fake_load(run_dir, base=False, checkpoint=None, preset=None):
        return SimpleNamespace(model="base" if base else "adapter")

    def fake_stream(loaded, prompt, max_new_tokens=128, stop=None):
        yield "```bash\nrm -rf src && ls\n```" if loaded.model == "adapter" else "ls src | wc -l"

    monkeypatch.setattr(hf_loading, "load_run_model", fake_load)
    monkeypatch.setattr(core.generate, "stream_reply", fake_stream)


async def test_both_answers_run_on_the_fixture_side_by_side(runs_dir, answers):
    from core.exec_eval.fixtures import fixture_dir

    source = fixture_dir("codebase")
    before = sorted(str(p.relative_to(source)) for p in source.rglob("*"))
    app = TunerApp(clock=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.playground.choices, what="model choices")
        app.open_playground(runs_dir / FINISHED_RUN)
        await pilot.pause(0.1)
        pg = app.playground
        await pilot.press(*"tidy up", "enter")
        a, b = pg.query_one("#pg-out-a"), pg.query_one("#pg-out-b")
        await wait_until(pilot, lambda: a.answer is not None and b.answer is not None, what="answers")
        await pilot.press("ctrl+r")  # no fixture chosen yet: a hint, nothing runs
        assert text_of(a, ".answer-run").strip() == ""
        pg.query_one("#pg-fixture").value = "codebase"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "exit 0" in text_of(b, ".answer-run"), timeout=60, what="sandbox run")
        await wait_until(pilot, lambda: "exit 0" in text_of(a, ".answer-run"), timeout=60, what="sandbox run")
        assert "- src" in text_of(a, ".answer-run")  # what A removed, in the sandbox
        assert "in the sandbox on codebase" in text_of(b, ".answer-run")
        assert text_of(b, ".answer-run").split("\n")[2].strip().isdigit()  # B's count
    assert (
        sorted(str(p.relative_to(source)) for p in source.rglob("*")) == before
    )  # the host copy is untouched


async def test_without_the_sandbox_nothing_runs(runs_dir, answers, monkeypatch, tmp_path):
    from core.sandbox.bwrap import sandbox_problem

    monkeypatch.setenv("PATH", str(tmp_path))
    sandbox_problem.cache_clear()
    try:
        app = TunerApp(clock=fixed_clock)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.playground.choices, what="model choices")
            app.open_playground(runs_dir / FINISHED_RUN)
            await pilot.pause(0.1)
            pg = app.playground
            await pilot.press(*"tidy up", "enter")
            a = pg.query_one("#pg-out-a")
            await wait_until(pilot, lambda: a.answer is not None, what="answer")
            pg.query_one("#pg-fixture").value = "codebase"
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: "bubblewrap" in text_of(a, ".answer-run"), what="refusal")
            assert "not run" in text_of(a, ".answer-run")
    finally:
        sandbox_problem.cache_clear()
    assert Path(tmp_path).is_dir()
