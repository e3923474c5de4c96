"""TrainerCallbacks: the event stream, samples/exact match, stopping (signals, time budget), non-finite skips."""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from core import events as ev
from core.data.formatting import Style
from core.metrics import commands_match


class Progress:
    """Shared run state the callbacks read and write (one object per run)."""

    def __init__(self, max_steps: int, started: float) -> None:
        self.max_steps = max_steps
        self.started = started
        self.stop_reason: str | None = None  # "signal" | "time_budget" | "nonfinite"
        self.nonfinite_total = 0
        self.nonfinite_streak = 0
        self.best_val_loss: float | None = None
        self.best_step: int | None = None
        self.last_val_loss: float | None = None
        self.step_seconds: float | None = None
        self.save_seconds = 0.0
        self.paused_s = 0.0  # evaluation and sampling time, excluded from throughput
        self.step = 0  # last completed optimizer step (for failure events)
        self.exact_match: tuple[float, int, float] | None = (
            None  # (rate, rows, syntax-valid rate) of this evaluation
        )
        self.exec_accuracy: tuple[float | None, int] | None = (
            None  # (rate, rows) of this evaluation (eval.exec)
        )
        self.world_size = 1

    def stop_requested(self) -> bool:
        """A stop signal or pre-emption arrived: evaluation and generation give way at once."""
        return self.stop_reason in ("signal", "preempted")

    def stop_agreed(self) -> bool:
        """stop_requested, agreed by every rank (one all-reduce) when several train together."""
        if self.world_size > 1:
            from core.train.distributed import agree_stop

            self.stop_reason = agree_stop(self.stop_reason)
        return self.stop_requested()


class EventsCallback(TrainerCallback):
    """Turns Trainer logs into `step` and `eval` events with throughput and memory."""

    def __init__(
        self,
        emit: Callable[[ev.Event], None],
        progress: Progress,
        collator: Any,
        device: str,
        world_size: int = 1,
    ) -> None:
        self.emit = emit
        self.progress = progress
        self.collator = collator
        self.device = device
        self.world_size = world_size
        self._t = time.perf_counter()
        self._tokens = 0
        self._rows = 0
        self._step0: int | None = None
        self._paused = 0.0
        self._begin = time.perf_counter()
        self._last_step = 0

    def on_train_begin(self, args, state, control, **kw):
        self._t = self._begin = time.perf_counter()
        self._tokens, self._rows = self.collator.tokens_used, self.collator.rows_used
        self._step0 = self._last_step = state.global_step

    def on_step_end(self, args, state, control, **kw):
        self.progress.step = state.global_step

    def on_pre_optimizer_step(self, args, state, control, **kw):
        from core.sysinfo import note_accel_peak

        note_accel_peak(self.device)  # gradients and optimizer inputs live: near the step's peak

    def on_substep_end(self, args, state, control, **kw):
        from core.sysinfo import note_accel_peak

        note_accel_peak(self.device)

    def on_evaluate(self, args, state, control, metrics=None, **kw):
        loss = (metrics or {}).get("eval_loss")
        val = float(loss) if loss is not None and math.isfinite(loss) else None  # NaN is never a best loss
        em, rows, valid = self.progress.exact_match or (None, 0, None)
        exec_acc, exec_rows = self.progress.exec_accuracy or (None, 0)
        self.progress.exact_match = self.progress.exec_accuracy = None
        self.emit(
            ev.Eval(
                step=state.global_step,
                val_loss=val,
                perplexity=math.exp(min(val, 50)) if val is not None else None,
                exact_match=em,
                exact_match_rows=rows,
                syntax_valid=valid,
                exec_accuracy=exec_acc,
                exec_rows=exec_rows,
            )
        )

    def on_log(self, args, state, control, logs=None, **kw):
        from core.sysinfo import memory_snapshot

        logs = logs or {}
        if "eval_loss" in logs:
            val = logs["eval_loss"]
            self.progress.last_val_loss = val
            if math.isfinite(val) and (
                self.progress.best_val_loss is None or val < self.progress.best_val_loss
            ):
                self.progress.best_val_loss, self.progress.best_step = val, state.global_step
            return
        if "loss" not in logs:
            return
        now = time.perf_counter()
        dt = max(now - self._t - (self.progress.paused_s - self._paused), 1e-9)
        tokens = (self.collator.tokens_used - self._tokens) * self.world_size
        rows = (self.collator.rows_used - self._rows) * self.world_size
        steps_done = state.global_step - (self._step0 or 0)
        elapsed = time.time() - self.progress.started
        # ETA from the whole run so far, evaluation and sampling included: that is what the wait will be.
        per_step = (now - self._begin) / steps_done if steps_done else None
        eta = per_step * (state.max_steps - state.global_step) if per_step else None
        if steps_done:
            self.progress.step_seconds = dt / max(1, state.global_step - self._last_step)
        self._last_step = state.global_step
        self.emit(
            ev.Step(
                step=state.global_step,
                max_steps=state.max_steps,
                epoch=round(state.epoch or 0.0, 4),
                loss=logs.get("loss"),
                lr=logs.get("learning_rate", 0.0),
                grad_norm=logs.get("grad_norm"),
                tokens=tokens,
                tokens_per_s=tokens / dt,
                samples_per_s=rows / dt,
                elapsed_s=elapsed,
                eta_s=eta,
                nonfinite_skipped=self.progress.nonfinite_total,
                memory=memory_snapshot(self.device),
            )
        )
        self._t, self._tokens, self._rows = now, self.collator.tokens_used, self.collator.rows_used
        self._paused = self.progress.paused_s


class SamplesCallback(TrainerCallback):
    """After each evaluation: exact match on a fixed val sample; every sample_every steps: sample prompts."""

    def __init__(
        self,
        emit,
        progress: Progress,
        tokenizer,
        style: Style,
        system_prompt,
        val_rows: list,
        prompts: list[str],
        sample_every: int,
        max_new_tokens: int,
    ) -> None:
        self.emit, self.progress, self.tokenizer = emit, progress, tokenizer
        self.style, self.system_prompt = style, system_prompt
        self.val_rows, self.prompts = val_rows, prompts
        self.sample_every, self.max_new_tokens = sample_every, max_new_tokens

    def on_evaluate(self, args, state, control, model=None, metrics=None, **kw):
        from core.generate import generate_batch

        # Runs inside Trainer.evaluate (its time is excluded from throughput) and before
        # EventsCallback.on_evaluate, which emits the eval event with this exact match.
        if self.progress.stop_requested():
            return
        if self.val_rows and model is not None:
            answers = generate_batch(
                model,
                self.tokenizer,
                [r.instruction for r in self.val_rows],
                style=self.style,
                system_prompt=self.system_prompt,
                max_new_tokens=self.max_new_tokens,
                should_stop=self.progress.stop_requested,
            )
            if self.progress.stop_requested():
                return  # cut short: no exact match from a partial generation
            from core.data.syntax import bash_syntax_error

            n = len(self.val_rows)
            hits = sum(
                commands_match(a.command, r.command) for a, r in zip(answers, self.val_rows, strict=True)
            )
            valid = sum(bool(a.command) and bash_syntax_error(a.command) is None for a in answers)
            self.progress.exact_match = (hits / n, n, valid / n)
        if state.global_step == 0:
            self._samples(model, state.global_step)  # what the base model answers, for comparison

    def _samples(self, model, step: int) -> None:
        from core.generate import generate_batch

        if not self.prompts or model is None or self.progress.stop_requested():
            return
        answers = generate_batch(
            model,
            self.tokenizer,
            self.prompts,
            style=self.style,
            system_prompt=self.system_prompt,
            max_new_tokens=self.max_new_tokens,
            should_stop=self.progress.stop_requested,
        )
        if not self.progress.stop_requested():
            self.emit(ev.Sample(step=step, samples=[a.to_json() for a in answers]))

    def on_step_end(self, args, state, control, model=None, **kw):
        if state.global_step % self.sample_every == 0:
            t = time.perf_counter()
            self._samples(model, state.global_step)
            self.progress.paused_s += time.perf_counter() - t


class StopCallback(TrainerCallback):
    """SIGTERM/SIGINT, SLURM's pre-emption warning (SIGUSR1) and the time budget: finish the step, checkpoint, stop.

    Under several processes every rank acts on what any rank decided, at the same step: each
    rank's signal and clock are its own, and a rank that stopped alone would leave the others
    waiting in the next all-reduce.
    """

    REASONS = {signal.SIGTERM: "signal", signal.SIGINT: "signal"}
    if hasattr(signal, "SIGUSR1"):
        REASONS[signal.SIGUSR1] = "preempted"  # sbatch --signal=USR1@120: checkpoint, then requeue

    def __init__(
        self,
        progress: Progress,
        time_budget_s: int | None,
        world_size: int = 1,
        emit: Callable[[ev.Event], None] | None = None,
    ) -> None:
        self.progress = progress
        self.budget = time_budget_s
        self.world_size = world_size
        self.emit = emit
        self._old: dict[int, Any] = {}
        self._signals = 0
        self._began: float | None = None  # when this process's first step started (the budget's step time)
        self._first_step: int | None = None

    def on_train_begin(self, args, state, control, **kw):
        self._began, self._first_step = time.time(), state.global_step

    def install(self) -> None:
        """Catch the stop signals; a second one falls back to the default (immediate) behaviour."""
        import threading

        if threading.current_thread() is not threading.main_thread():
            return  # launchers that run replicas in threads (torch_xla on CPU): the main thread owns signals
        for sig in self.REASONS:
            self._old[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        """Restore the previous handlers."""
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    def _handle(self, signum, frame):
        reason = self.REASONS.get(signum, "signal")
        if reason == "preempted":  # a second pre-emption warning changes nothing (its default action kills)
            signal.signal(signum, signal.SIG_IGN)
        self._signals += 1
        if self._signals > 1 and reason == "signal":
            # Asked twice: end now (the last complete checkpoint stands; the run still gets its final
            # event). A third signal is the default one.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._old.get(sig, signal.SIG_DFL))
            raise KeyboardInterrupt
        if self.progress.stop_reason is None:
            self.progress.stop_reason = reason
        if self.emit is not None:
            name = signal.Signals(signum).name
            self.emit(
                ev.WarningEvent(
                    message=f"{name}: stopping — evaluation and sampling are abandoned, the step "
                    "finishes, then a checkpoint (a second signal ends at once)",
                    kind="stopping",
                    step=self.progress.step,
                )
            )

    def on_step_end(self, args, state, control, **kw):
        if self.budget and self.progress.stop_reason is None:
            elapsed = time.time() - self.progress.started
            steps = max(1, state.global_step - self._first_step) if self._first_step is not None else 1
            measured = (time.time() - self._began) / steps if self._began is not None else 0.0
            per_step = self.progress.step_seconds or measured
            # Room for one more step and a checkpoint, twice over: scaled to what was measured, so a
            # 30 s budget trains for ~30 s rather than stopping after one step.
            need = 2 * per_step + 2 * self.progress.save_seconds + 1
            if elapsed + need >= self.budget:
                self.progress.stop_reason = "time_budget"
        if self.world_size > 1:
            from core.train.distributed import agree_stop

            self.progress.stop_reason = agree_stop(self.progress.stop_reason)
        if self.progress.stop_reason in ("signal", "time_budget", "preempted"):
            control.should_save = True
            control.should_training_stop = True
        elif self.progress.stop_reason == "nonfinite":
            control.should_training_stop = True
        return control


class NonFiniteCallback(TrainerCallback):
    """Skip an optimizer update whose gradients are NaN/inf; stop after `patience` in a row.

    Under fp16 the GradScaler already skips overflowing steps and lowers its scale: the first
    steps of every fp16 run overflow while the scale (2^16) settles, which is normal. Those count
    as non-finite only once the scale has fallen below 1, where overflow no longer explains them.

    With `defer` (a GPU) and a fused torch AdamW, nothing waits for the GPU: the check stays on
    the device and the fused kernel skips the update itself (its `found_inf` input, the one
    GradScaler uses); the counts are read on steps that log or save, which sync anyway.
    """

    def __init__(self, emit, progress: Progress, patience: int, defer: bool = False) -> None:
        self.emit, self.progress, self.patience, self.defer = emit, progress, patience, defer
        # () -> (last step skipped, loss scale), set when fp16's GradScaler is in charge
        self.scaler_state: Callable[[], tuple[bool, float]] | None = None
        self.overflow_skipped = 0
        self._streak: Any = None  # device tensors of the deferred check: current run of skips, skips unread
        self._unread: Any = None

    def on_optimizer_step(self, args, state, control, **kw):
        if self.scaler_state is None:
            return
        skipped, scale = self.scaler_state()
        if not skipped:
            self.progress.nonfinite_streak = 0
            return
        self.overflow_skipped += 1
        if scale >= 1.0:
            return  # the scaler is still finding its scale
        self._count(state, control, f"fp16 gradients overflowed with the loss scale at {scale:g}")

    def _count(self, state, control, what: str) -> None:
        self.progress.nonfinite_total += 1
        self.progress.nonfinite_streak += 1
        self.emit(
            ev.WarningEvent(
                message=f"{what} at step {state.global_step + 1}: update skipped "
                f"({self.progress.nonfinite_streak} in a row)",
                kind="nonfinite",
                step=state.global_step + 1,
            )
        )
        if self.progress.nonfinite_streak >= self.patience:
            self.progress.stop_reason = "nonfinite"
            control.should_training_stop = True

    def on_pre_optimizer_step(self, args, state, control, model=None, optimizer=None, **kw):
        import torch

        if self.scaler_state is not None:
            return  # the GradScaler skips this step itself if it overflowed

        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads:
            return
        ok = torch.stack([torch.isfinite(g).all() for g in grads]).all()
        fused = _fused_adam(optimizer)
        if self.defer and fused is not None:
            bad = (~ok).to(torch.float32)
            fused.found_inf = bad  # the kernel leaves weights and moments as they are when it is 1
            self._streak = bad if self._streak is None else (self._streak + 1) * bad
            self._unread = bad if self._unread is None else self._unread + bad
            return
        finite = bool(ok)  # one host sync for all tensors, not one per tensor
        if finite:
            self.progress.nonfinite_streak = 0
            return
        for p in model.parameters():
            p.grad = None  # AdamW skips parameters without gradients: the update is dropped
        self._count(state, control, "non-finite gradients")

    def on_step_end(self, args, state, control, **kw):
        if self._unread is None or not (
            control.should_log or control.should_save or state.global_step >= state.max_steps
        ):
            return
        skipped, streak = int(self._unread.item()), int(self._streak.item())
        self._unread.zero_()
        self.progress.nonfinite_streak = streak
        if not skipped:
            return
        self.progress.nonfinite_total += skipped
        self.emit(
            ev.WarningEvent(
                message=f"non-finite gradients: {skipped} update(s) skipped up to step {state.global_step} "
                f"({streak} in a row)",
                kind="nonfinite",
                step=state.global_step,
            )
        )
        if streak >= self.patience:
            self.progress.stop_reason = "nonfinite"
            control.should_training_stop = True


def _fused_adam(optimizer: Any) -> Any:
    """The torch Adam/AdamW inside the Trainer's (accelerate-wrapped) optimizer, when it runs fused."""
    import torch

    inner = getattr(optimizer, "optimizer", optimizer)
    if isinstance(inner, torch.optim.Adam) and all(g.get("fused") for g in inner.param_groups):
        return inner
    return None
