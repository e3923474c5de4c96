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

    args = TrainingArguments(str(tmp_path), report_to=[])
    progress = Progress(max_steps=10, started=time.time() - 110)
    progress.step_seconds = 5
    # 110 s gone, 5 s steps: one more step and a save do not fit
    cb = StopCallback(progress, time_budget_s=120)
    control = cb.on_step_end(args, TrainerState(), TrainerControl())
    assert control.should_save and control.should_training_stop and progress.stop_reason == "time_budget"
    # a 30 s budget with 0.5 s steps keeps training at 5 s (a fixed 30 s margin used to stop it at once)
    short = Progress(max_steps=100, started=time.time() - 5)
    short.step_seconds = 0.5
    control = StopCallback(short, time_budget_s=30).on_step_end(args, TrainerState(), TrainerControl())
    assert not control.should_training_stop and short.stop_reason is None


def test_fp16_overflow_skips_while_the_scale_settles_do_not_stop_the_run(tmp_path):
    """A real GradScaler: its first overflow skips are normal; persistent NaN gradients stop the run."""
    events = []
    progress = Progress(max_steps=100, started=0.0)
    cb = NonFiniteCallback(events.append, progress, patience=3)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    last = {"skipped": False}
    cb.scaler_state = lambda: (last["skipped"], scaler.get_scale())
    args, state, control = TrainingArguments(str(tmp_path), report_to=[]), TrainerState(), TrainerControl()

    def step(loss_scale: float) -> None:
        opt.zero_grad()
        x = torch.ones(2, 4)
        scaler.scale(model(x).sum() * loss_scale).backward()
        cb.on_pre_optimizer_step(args, state, control, model=model)  # leaves the scaler in charge
        before = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        last["skipped"] = scaler.get_scale() < before
        cb.on_optimizer_step(args, state, control)
        state.global_step += 1

    for _ in range(6):  # gradients near fp16's range: the scale overflows, halves, settles
        step(1e36)
    assert cb.overflow_skipped == 6 and progress.nonfinite_total == 0 and not control.should_training_stop
    step(1.0)
    assert progress.nonfinite_streak == 0
    for _ in range(40):  # NaN every step: the scale collapses below 1 and the streak stops the run
        step(float("nan"))
        if control.should_training_stop:
            break
    assert control.should_training_stop and progress.stop_reason == "nonfinite"
    assert scaler.get_scale() < 1.0 and all(e.kind == "nonfinite" for e in events) and len(events) == 3


def test_deferred_check_skips_updates_in_the_fused_kernel_and_reads_counts_at_log_steps(tmp_path):
    """A GPU's path, run on the CPU with a real fused AdamW: no host read per step, the kernel skips the update."""
    events = []
    progress = Progress(max_steps=100, started=0.0)
    cb = NonFiniteCallback(events.append, progress, patience=3, defer=True)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, fused=True)
    args, state, control = (
        TrainingArguments(str(tmp_path), report_to=[]),
        TrainerState(max_steps=100),
        TrainerControl(),
    )

    def step(grad: float, log: bool) -> None:
        for p in model.parameters():
            p.grad = torch.full_like(p, grad)
        cb.on_pre_optimizer_step(args, state, control, model=model, optimizer=opt)
        opt.step()
        state.global_step += 1
        control.should_log = log
        cb.on_step_end(args, state, control)

    step(1.0, log=False)
    before = [p.detach().clone() for p in model.parameters()]
    moments = opt.state[model.weight]["exp_avg"].clone()
    step(float("nan"), log=False)
    step(float("inf"), log=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)), (
        "both updates skipped"
    )
    assert torch.equal(opt.state[model.weight]["exp_avg"], moments) and torch.isfinite(moments).all()
    assert events == [] and progress.nonfinite_total == 0, "nothing read until a logging step"
    step(1.0, log=True)  # a good step resets the streak; the two skips are reported now
    assert (
        progress.nonfinite_total == 2 and progress.nonfinite_streak == 0 and not control.should_training_stop
    )
    assert not torch.equal(before[0], model.weight), "good updates still apply"
    for _ in range(3):
        step(float("nan"), log=False)
    step(float("nan"), log=True)
    assert (
        control.should_training_stop and progress.stop_reason == "nonfinite" and progress.nonfinite_total == 6
    )
    assert [e.kind for e in events] == ["nonfinite", "nonfinite"]
