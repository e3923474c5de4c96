"""The HF Trainer, plus what it does not do: atomic checkpoints and the batch-as-item data path."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any, Callable

from transformers import Trainer
from transformers.trainer_utils import rotate_checkpoints

from core.runs import CHECKPOINT_PREFIX, COMPLETE_MARKER, TMP_PREFIX


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

    def training_step(self, *args: Any, **kwargs: Any):
        consume = getattr(self.data_collator, "consume", None)
        if consume is not None:
            consume()  # count this micro-batch's tokens now, not when the loader prefetched it
        return super().training_step(*args, **kwargs)

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
            return super().evaluate(*args, **kwargs)
        finally:
            if self.progress is not None:
                self.progress.paused_s += time.perf_counter() - t

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        final_root = self.args.output_dir
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
        if self.state.best_global_step:
            self.state.best_model_checkpoint = os.path.join(final_root, f"{CHECKPOINT_PREFIX}{self.state.best_global_step}")
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
