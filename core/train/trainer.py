"""The HF Trainer, plus what it does not do: atomic checkpoints and the batch-as-item data path."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from typing import Any

from transformers import Trainer, TrainerCallback
from transformers.trainer_utils import TrainOutput, rotate_checkpoints

from core.runs import CHECKPOINT_PREFIX, COMPLETE_MARKER, TMP_PREFIX
from core.train.batches import pop_counts


class _Abandoned(Exception):
    """An evaluation given up because the run is stopping."""


class _AlreadyTrained(Exception):
    """The resumed checkpoint has reached max_steps: there is no step left to train."""


class _NoStepPastMax(TrainerCallback):
    """The Trainer checks max_steps only after a step: a run resumed from its last checkpoint (killed
    during its final evaluation or adapter save) would train one step more than it was asked to."""

    def on_step_begin(self, args, state, control, **kw):
        if 0 < state.max_steps <= state.global_step:
            raise _AlreadyTrained


class TunerTrainer(Trainer):
    """Trainer whose checkpoints appear only when complete.

    The Trainer writes `checkpoint-N` in place; a kill mid-save leaves a folder that looks
    valid but is not. Here each checkpoint is written into `.tmp-N/`, marked COMPLETE, then
    renamed into place (rename is atomic on one filesystem). Rotation keeps the latest and
    the best checkpoint.
    """

    on_checkpoint: Callable[[int, str, float], None] | None = None
    eval_collator: Any = None  # eval batches must not count as training throughput
    progress: Any = None  # core.train.callbacks.Progress: eval time is excluded from tokens/s

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_callback(_NoStepPastMax())

    def train(
        self,
        resume_from_checkpoint: str | bool | None = None,
        trial: Any = None,
        ignore_keys_for_eval: Any = None,
    ) -> TrainOutput:
        """Train; from a checkpoint already at max_steps, only finish what its run left undone."""
        try:
            return super().train(resume_from_checkpoint, trial, ignore_keys_for_eval)
        except _AlreadyTrained:
            pass
        # The checkpoint's weights, optimizer and state are loaded. Its final evaluation is missing
        # when a stop signal abandoned it; the adapter is saved by the caller as after any run.
        step = self.state.global_step
        evaluated = any("eval_loss" in h and h.get("step") == step for h in self.state.log_history)
        if self.eval_dataset is not None and self.args.eval_strategy != "no" and not evaluated:
            self.evaluate()
        self.control = self.callback_handler.on_train_end(self.args, self.state, self.control)
        return TrainOutput(step, 0.0, {})

    def _prepare_inputs(self, inputs: Any) -> Any:
        if isinstance(inputs, dict):
            tokens, rows = pop_counts(inputs)  # counted here, in the main process, as training uses the batch
            collator: Any = self.data_collator  # the counting collator (core.train.batches)
            if self.model is not None and self.model.training and hasattr(collator, "tokens_used"):
                collator.tokens_used += tokens
                collator.rows_used += rows
        return super()._prepare_inputs(inputs)

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None):
        if optimizer is None and self.optimizer is None:
            # transformers 5.23 delays the optimizer when an XLA FSDP wrapper replaces the model, then
            # never creates it. The wrapper shards the same Parameter objects, so build it over them.
            self.create_optimizer()
            self.optimizer = self.accelerator.prepare(self.optimizer)
        return super().create_scheduler(num_training_steps, optimizer)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        if not getattr(self, "is_fsdp_xla_v2_enabled", False):
            return super().save_model(output_dir, _internal_call)
        # Under XLA SPMD the Trainer would pickle the FSDPv2 wrapper's whole state dict (no adapter
        # config, keys with the wrapper's `_orig_module`). Save the wrapped model as itself: its
        # Parameters are the sharded ones, gathered to the host here.
        import torch
        import torch_xla.core.xla_model as xm

        output_dir = str(output_dir or self.args.output_dir)
        inner: Any = self.model
        while hasattr(inner, "_orig_module"):
            inner = inner._orig_module
        xm.mark_step()
        state = xm._maybe_convert_to_cpu(inner.state_dict())
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)

        def unwrap(sd: dict) -> dict:
            return {k.replace("._orig_module", ""): v.contiguous() for k, v in sd.items()}

        if hasattr(inner, "peft_config"):
            from peft import get_peft_model_state_dict
            from safetensors.torch import save_file

            # PEFT finds adapter weights by module path (which includes the wrapper): select, then rename
            adapter = unwrap(get_peft_model_state_dict(inner, state_dict=state))
            inner.peft_config[inner.active_adapter].save_pretrained(output_dir)
            save_file(
                adapter, os.path.join(output_dir, "adapter_model.safetensors"), metadata={"format": "pt"}
            )
        else:
            inner.save_pretrained(output_dir, state_dict=unwrap(state))
        torch.save(self.args, os.path.join(output_dir, "training_args.bin"))
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)

    def _load_callback_state(self) -> None:
        # Called right after a resume loads trainer_state.json, whose logging/eval/save intervals
        # would silently beat a `--set train.save_every=…` given with --resume: the command wins.
        super()._load_callback_state()
        self.state.compute_steps(self.args, self.args.max_steps)

    def get_eval_dataloader(self, eval_dataset: Any = None):
        train_collator = self.data_collator
        if self.eval_collator is not None:
            self.data_collator = self.eval_collator
        try:
            return super().get_eval_dataloader(eval_dataset)
        finally:
            self.data_collator = train_collator

    def evaluate(self, *args: Any, **kwargs: Any):
        t = time.perf_counter()
        try:
            if self.progress is not None and self.progress.stop_agreed():
                raise _Abandoned
            return super().evaluate(*args, **kwargs)
        except _Abandoned:
            # A stop signal arrived: no metrics, no samples, no eval event (NaN is never a best loss);
            # training stops at the end of the next step with a checkpoint.
            return {"eval_loss": float("nan")}
        finally:
            if self.progress is not None:
                self.progress.paused_s += time.perf_counter() - t

    def prediction_step(self, *args: Any, **kwargs: Any):
        if self.progress is not None and self.progress.stop_agreed():
            raise _Abandoned  # between two evaluation batches: a validation pass can take minutes
        return super().prediction_step(*args, **kwargs)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        final_root = str(self.args.output_dir)
        step = self.state.global_step
        staging = os.path.join(final_root, f"{TMP_PREFIX}{step}")
        name = f"{CHECKPOINT_PREFIX}{step}"
        started = time.perf_counter()
        self.args.output_dir = staging
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self.args.output_dir = final_root
        src, dst = os.path.join(staging, name), os.path.join(final_root, name)
        # Every rank writes its own RNG state into the staging folder: rename only once all have.
        self.accelerator.wait_for_everyone()
        if self.state.best_global_step:
            self.state.best_model_checkpoint = os.path.join(
                final_root, f"{CHECKPOINT_PREFIX}{self.state.best_global_step}"
            )
        if self.args.should_save:
            self.state.save_to_json(os.path.join(src, "trainer_state.json"))
            with open(os.path.join(src, COMPLETE_MARKER), "w") as f:
                f.write(f"{step}\n")
            if os.path.exists(dst):  # the same step saved twice (e.g. a signal on a save step)
                shutil.rmtree(dst)
            os.replace(src, dst)
            shutil.rmtree(staging, ignore_errors=True)
            rotate_checkpoints(
                output_dir=final_root,
                save_total_limit=self.args.save_total_limit,
                best_model_checkpoint=self.state.best_model_checkpoint,
            )
        self.accelerator.wait_for_everyone()
        if self.on_checkpoint is not None:
            self.on_checkpoint(step, dst, time.perf_counter() - started)
