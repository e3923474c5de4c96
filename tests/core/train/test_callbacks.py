"""Non-finite gradients: the update is skipped and counted; K in a row stop the run."""

from __future__ import annotations

import torch
from transformers import TrainerControl, TrainerState, TrainingArguments

from core.train.callbacks import NonFiniteCallback, Progress, StopCallback


def test_nonfinite_update_is_skipped_then_run_stops(tmp_path):
    events = []
    progress = Progress(max_steps=10, started=0.0)
    cb = NonFiniteCallback(events.append, progress, patience=2)
    model = torch.nn.Linear(2, 2)
    args, state, control = TrainingArguments(str(tmp_path), report_to=[]), TrainerState(), TrainerControl()
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    cb.on_pre_optimizer_step(args, state, control, model=model)
    assert model.weight.grad is not None and progress.nonfinite_streak == 0
    model.weight.grad[0, 0] = float("nan")
    cb.on_pre_optimizer_step(args, state, control, model=model)
    assert model.weight.grad is None and model.bias.grad is None, "update skipped"
    assert progress.nonfinite_total == 1 and not control.should_training_stop
    model.weight.grad = torch.full_like(model.weight, float("inf"))
    cb.on_pre_optimizer_step(args, state, control, model=model)
    assert control.should_training_stop and progress.stop_reason == "nonfinite"
    assert [e.kind for e in events] == ["nonfinite", "nonfinite"]


def test_time_budget_requests_save_and_stop(tmp_path):
    import time

    progress = Progress(max_steps=10, started=time.time() - 100)
    progress.step_seconds = 5
    cb = StopCallback(progress, time_budget_s=120)
    control = cb.on_step_end(TrainingArguments(str(tmp_path), report_to=[]), TrainerState(), TrainerControl())
    assert control.should_save and control.should_training_stop and progress.stop_reason == "time_budget"
