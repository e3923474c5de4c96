"""tuner_tui.idle_gc: full collections wait for an idle user, and CPython gets its thresholds back."""

from __future__ import annotations

import gc

import pytest

from tuner_tui.app import TunerApp
from tuner_tui.idle_gc import NEVER, IdleCollector


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_full_collections_run_only_when_due_and_idle():
    clock = Clock()
    saved = gc.get_threshold()
    collector = IdleCollector(idle_s=1.0, clock=clock)
    collector.start()
    try:
        assert gc.get_threshold() == (saved[0], saved[1], NEVER)
        gc.collect()  # count[2] back to 0
        assert not collector.tick()  # nothing due yet
        for _ in range(saved[2]):
            gc.collect(1)  # each young collection counts towards a full one, as CPython's own do
        collector.touched()
        clock.now += 0.5
        assert not collector.tick() and collector.collections == 0  # the user is busy
        clock.now += 0.6
        assert collector.tick() and collector.collections == 1
        assert gc.get_count()[2] == 0
        assert not collector.tick()  # and not again until as many young collections have passed
    finally:
        collector.stop()
    assert gc.get_threshold() == saved
    assert not collector.due()  # stopped: CPython owns generation 2 again


@pytest.mark.anyio
async def test_the_app_owns_generation_two_only_while_it_runs(runs_dir):
    saved = gc.get_threshold()
    app = TunerApp(runs_dir=runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert gc.get_threshold()[2] == NEVER
        before = app.idle_gc.last_input
        await pilot.press("2")
        assert app.idle_gc.last_input > before  # a key counts as activity
    assert gc.get_threshold() == saved
