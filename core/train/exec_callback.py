"""Execution accuracy during training (eval.exec): a fixed sample of the exec set, answered, then run in the sandbox.

Generation and the sandbox run inside Trainer.evaluate, before EventsCallback emits the eval event
that carries the result; their time is excluded from throughput like the rest of evaluation.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from core import events as ev

if TYPE_CHECKING:
    from core.config.schema import Preset
    from core.data.formatting import Style
    from core.exec_eval.exec_set import ExecRow
    from core.exec_eval.scorer import ExecScorer
    from core.train.callbacks import Progress


class ExecEvalCallback(TrainerCallback):
    """At each evaluation: answer the sample, run the answers in the sandbox, keep the accuracy for the eval event."""

    def __init__(
        self,
        progress: Progress,
        tokenizer: Any,
        style: Style,
        system_prompt: str | None,
        rows: list[ExecRow],
        max_new_tokens: int,
        scorer: ExecScorer,
    ) -> None:
        self.progress, self.tokenizer, self.style = progress, tokenizer, style
        self.system_prompt, self.rows, self.max_new_tokens = system_prompt, rows, max_new_tokens
        self.scorer = scorer

    def on_evaluate(self, args, state, control, model=None, **kw):
        from core.exec_eval.scorer import summarize
        from core.generate import generate_batch

        if model is None or not self.rows or self.progress.stop_requested():
            return
        answers = generate_batch(
            model,
            self.tokenizer,
            [r.instruction for r in self.rows],
            style=self.style,
            system_prompt=self.system_prompt,
            max_new_tokens=self.max_new_tokens,
            should_stop=self.progress.stop_requested,
        )
        if self.progress.stop_requested():
            return  # cut short: no accuracy from a partial generation
        preds = [
            {
                "reference": r.reference,
                "command": a.command,
                "alternatives": list(r.alternatives),
                "fixture": r.fixture,
            }
            for r, a in zip(self.rows, answers, strict=True)
        ]
        s = summarize(self.scorer.judge_all(preds))
        self.progress.exec_accuracy = (s["exec_accuracy"], s["exec_rows"])

    def on_train_end(self, args, state, control, **kw):
        self.scorer.__exit__(None, None, None)


def make_exec_callback(
    preset: Preset, emit: Callable[[ev.Event], None], progress: Progress, tokenizer: Any, style: Style
) -> ExecEvalCallback | None:
    """The callback when eval.exec is on and the sandbox works here; else None (with a warning event)."""
    if not preset.eval.exec:
        return None
    from core.exec_eval.exec_set import exec_sample, load_exec_set
    from core.exec_eval.scorer import ExecScorer
    from core.sandbox.bwrap import sandbox_problem

    problem = sandbox_problem()
    if problem:
        emit(ev.WarningEvent(message=f"eval.exec is off for this run: {problem}", kind="exec"))
        return None
    scorer = ExecScorer(workers=2).__enter__()
    atexit.register(scorer.__exit__, None, None, None)  # the temp fixtures go even when training crashes
    rows = exec_sample(load_exec_set(), preset.eval.exec_rows)
    return ExecEvalCallback(
        progress, tokenizer, style, preset.data.system_prompt, rows, preset.eval.max_new_tokens, scorer
    )
