"""`tuner run`: one training run from preset to adapter, reported through the run directory.

Order: run dir → data → tokenizer → model → Trainer → train → adapter. Every failure ends with
a `failed` event (kind, message, fix hint) so clients never see a run that just stops.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from core import events as ev
from core.config.loader import apply_overrides, load_preset, read_toml, validate_preset
from core.config.schema import Preset, parse_duration
from core.errors import EXIT_FAILED, EXIT_FINISHED, EXIT_INTERRUPTED, EXIT_KILLED, TunerError
from core.failures import classify, is_disk_full
from core.run_lock import RunLock
from core.run_lock import acquire as acquire_lock
from core.runs import (
    ADAPTER_DIR,
    CHECKPOINTS_DIR,
    EVENTS_FILE,
    PRESET_FILE,
    complete_checkpoints,
    create_run_dir,
    incomplete_checkpoints,
    resolve_run,
    scrub,
    write_provenance,
)
from core.secrets import scrub_obj
from core.train.distributed import adopt_launcher_env, dist_info
from core.train.run_log import close_log, setup_log

if TYPE_CHECKING:
    from core.data.formatting import Style
    from core.train.init_from import InitPlan

log = logging.getLogger("tuner")


@dataclass
class RunRequest:
    """What the CLI asked for."""

    preset: str | None = None
    overrides: list[str] = field(default_factory=list)
    max_steps: int | None = None
    resume: str | None = None
    runs_root: Path | None = None
    smoke: bool = False


@dataclass
class RunOutcome:
    """How the run ended."""

    run_dir: Path | None
    status: str  # finished | interrupted | failed
    exit_code: int
    error: str | None = None  # one line for a failed run: message (hint)


def prepare_preset(req: RunRequest) -> tuple[Preset, Path | None, Path | None]:
    """Resolve (preset, preset file, run dir to resume) from the request."""
    if req.resume:
        run_dir = resolve_run(req.resume, req.runs_root)
        data = read_toml(run_dir / PRESET_FILE)
        preset = validate_preset(apply_overrides(data, req.overrides), str(run_dir / PRESET_FILE))
        return preset, None, run_dir
    preset, path = load_preset(req.preset or "quickstart", req.overrides)
    return preset, path, None


def run_training(req: RunRequest, on_event: Callable[[dict[str, Any]], None] | None = None) -> RunOutcome:
    """Run (or resume) one training run; returns how it ended."""
    started = time.time()
    adopt_launcher_env()  # srun's tasks become ranks (torchrun/accelerate already set them)
    rank, local_rank, world = dist_info()
    main = rank == 0
    preset, preset_path, resume_dir = prepare_preset(req)  # config errors raise before a run dir exists
    smoke = req.smoke or preset.name.endswith("-smoke")
    if req.smoke and resume_dir is None:
        from core.device import select_device
        from core.train.smoke import smoke_preset

        preset = smoke_preset(preset, select_device("auto"))
        if req.overrides:  # what the user --set wins over the smoke shrink (save_every, eval.*, …)
            preset = validate_preset(
                apply_overrides(preset.model_dump(mode="json", exclude_none=True), req.overrides),
                "--smoke with --set",
            )
    if req.max_steps:
        preset.train.max_steps = req.max_steps
    init = None
    if resume_dir is None and preset.model.init_from:  # a later phase: checked before a run dir exists
        from core.train.init_from import plan_init

        preset, init = plan_init(preset, req.runs_root)
    from core.device import check_preset_for_device, select_device

    # What this device cannot do (4-bit on XLA, MPS off macOS, …) is refused before a run directory
    # exists or anything loads: a refusal is a config error, not a failed run in the list.
    _refuse_secrets_in(preset, preset_path or req.resume or "the preset")
    device = select_device(preset.model.device)
    check_preset_for_device(preset, device, world)
    if world > 1:
        from core.train.distributed import init_distributed

        init_distributed(device)
    if resume_dir is None and main:
        resume_dir = _requeued_run(preset, req.runs_root)
    # Rank 0 holds the run's lock until it exits: a second trainer on this directory is refused
    # (before it writes anything) rather than training beside this one.
    run_dir, resuming, lock = _run_dir_for_all_ranks(preset, req.runs_root, resume_dir, main, world)
    requeued = resuming and req.resume is None
    if requeued:  # a requeued SLURM job continues its own run, on the run's own preset
        preset, preset_path, resume_dir = prepare_preset(
            RunRequest(resume=str(run_dir), overrides=req.overrides)
        )
        if req.max_steps:
            preset.train.max_steps = req.max_steps
        init = None  # its own preset.toml already names the weights it started from
    writer = ev.EventWriter(run_dir / EVENTS_FILE, enabled=main)
    handler = setup_log(run_dir, main)
    if main and not resuming:
        # A first provenance with our pid right away: clients see "running" while the model and
        # data load (minutes for a 7B); it is rewritten with the data hash and device later.
        write_provenance(
            run_dir,
            data_hash=None,
            base_model=preset.model.id,
            base_model_file_sha256=None,
            device="pending",
            extra={"stage": "loading"},
        )

    from core.train.display import event_line

    def emit(event: ev.Event) -> None:
        try:
            writer.write(event)
        except Exception as e:
            # The run's last word is still shown when the disk is too full to store it.
            if not (isinstance(event, (ev.Failed, ev.Finished)) and is_disk_full(e, run_dir)):
                raise
        if not main:
            return
        record = scrub_obj(ev.to_record(event))  # the terminal and train.log see what events.jsonl holds
        line = event_line(record)
        if line:  # train.log reads like the terminal did: a run opened later still has its story
            log.info(line)
        if on_event is not None:
            on_event(record)

    step_ref: dict[str, Any] = {}
    try:
        if requeued:
            emit(
                ev.WarningEvent(
                    message=f"SLURM job {os.environ.get('SLURM_JOB_ID')} was requeued: resuming {run_dir.name}",
                    kind="resume",
                )
            )
        status = _train(
            preset,
            preset_path,
            run_dir,
            resuming,
            emit,
            step_ref,
            started,
            (rank, local_rank, world),
            smoke,
            init,
        )
        return RunOutcome(run_dir, status, EXIT_INTERRUPTED if status == "interrupted" else EXIT_FINISHED)
    except TunerError as e:
        emit(ev.Failed(step=_current_step(step_ref), kind=e.kind, message=scrub(e.message), hint=e.hint))
        log.error("%s", e)
        return RunOutcome(run_dir, "failed", EXIT_FAILED, scrub(str(e)))
    except KeyboardInterrupt:  # a second stop signal: no checkpoint, but the run still says how it ended
        emit(
            ev.Finished(
                status="interrupted",
                step=_current_step(step_ref) or 0,  # stopped before the first step
                adapter_dir="",
                reason="signal",
                elapsed_s=time.time() - started,
            )
        )
        return RunOutcome(run_dir, "interrupted", EXIT_KILLED)
    except BaseException as e:
        kind, message, hint = classify(e, run_dir)
        emit(ev.Failed(step=_current_step(step_ref), kind=kind, message=scrub(message), hint=hint))
        log.error("%s", scrub(traceback.format_exc()))
        if kind == "internal":
            raise
        return RunOutcome(run_dir, "failed", EXIT_FAILED, f"{message} ({hint})")
    finally:
        writer.close()
        if handler is not None:
            close_log(handler)
        if lock is not None:
            lock.release()


def _current_step(step_ref: dict[str, Any]) -> int | None:
    progress = step_ref.get("progress")
    return progress.step if progress is not None else None


def _resume_step(checkpoint: str | None) -> int:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else 0


def _refuse_secrets_in(preset: Preset, source: Any) -> None:
    """A secret in a preset value (a sample prompt, a path) would be masked in the saved run and a
    resume would use "***": refuse it in one line before anything is written."""
    from core.secrets import secrets_in_values

    found = secrets_in_values(preset.model_dump(mode="json"))
    if found:
        key, names = found[0]
        raise TunerError(
            f"{source}: {key} contains the value of ${names[0]}",
            kind="config",
            hint="take the secret out of the preset (tuner reads tokens from the environment)",
        )


def _run_dir_for_all_ranks(
    preset: Preset, root: Path | None, resume_dir: Path | None, main: bool, world: int
) -> tuple[Path, bool, RunLock | None]:
    """(run directory, resuming, rank 0's lock on it): rank 0 picks or creates it and locks it; other ranks take its choice."""
    chosen, lock, refusal = None, None, None
    if main:
        run_dir = resume_dir or create_run_dir(preset, root)
        try:
            lock = acquire_lock(run_dir)
            chosen = f"{'resume' if resume_dir else 'new'}:{run_dir}"
        except TunerError as e:
            if world == 1:
                raise
            refusal, chosen = e, f"refused:{e.message}"
    if world == 1:
        return Path(run_dir), resume_dir is not None, lock
    from core.train.distributed import broadcast_from_main

    kind, _, value = broadcast_from_main(chosen).partition(":")
    if kind == "refused":  # every rank stops, not only the one that saw the lock taken
        raise refusal or TunerError(value, kind="locked")
    return Path(value), kind == "resume", lock


def _requeued_run(preset: Preset, root: Path | None) -> Path | None:
    """Under SLURM, the unfinished run this same job started before it was requeued (None otherwise)."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    from core.runs import find_job_run

    return find_job_run(job, preset.name, root)


def _train(
    preset: Preset,
    preset_path: Path | None,
    run_dir: Path,
    resuming: bool,
    emit,
    step_ref,
    started: float,
    dist_info: tuple[int, int, int],
    smoke: bool = False,
    init: InitPlan | None = None,
) -> str:
    from core.device import device_precision, fsdp_requested, select_device, torch_cuda_index, xla_spmd_cores
    from core.models.build import build_model
    from core.train.data_prep import prepare_instruct, prepare_text

    rank, _local_rank, world = dist_info
    device = select_device(preset.model.device)  # run_training has refused what it cannot do
    precision = device_precision(preset.model.dtype, device, full_finetune=preset.train.adapter == "full")
    dtype = precision.compute  # what the run computes in (events, provenance, 4-bit compute)
    cores = xla_spmd_cores(device)  # what SPMD cannot train was refused with the device checks
    resume_from = None
    if resuming:
        for bad in incomplete_checkpoints(run_dir):
            emit(
                ev.WarningEvent(
                    message=f"skipping incomplete checkpoint {bad.name} (killed while saving)",
                    kind="checkpoint",
                )
            )
        done = complete_checkpoints(run_dir)
        if not done:
            again = (
                f"{preset.name.removesuffix('-smoke')} --smoke"
                if preset.name.endswith("-smoke")
                else preset.name
            )
            raise TunerError(
                f"{run_dir.name} has no complete checkpoint to resume from",
                kind="resume",
                hint=f"start a new run: tuner run {again}",
            )
        resume_from = str(done[-1])

    base_dir = preset_path.parent if preset_path else None
    with _first_on_each_filesystem(world):
        if init is not None:  # merge mode writes <run>/base/ (the earlier adapter merged into its base)
            from core.train.init_from import apply_init

            preset = apply_init(preset, init, run_dir, device, rank == 0)
        if preset.data.task == "text":
            prep = prepare_text(preset, base_dir, run_dir, emit)
        else:
            prep = prepare_instruct(preset, base_dir, emit, world, cores)
    tcfg = preset.train
    tokenizer, style, collator = prep.tokenizer, prep.style, prep.collator

    # under `srun --gpus-per-task=1` each task sees one GPU, index 0, whatever its local rank
    device_map = {"": torch_cuda_index()} if device == "cuda" else None
    import torch

    if device == "cuda" and precision.autocast == torch.bfloat16:
        torch.backends.cuda.matmul.allow_tf32 = True  # Ampere+: fp32 matmuls (LoRA, lm_head) on tensor cores
        torch.backends.cudnn.allow_tf32 = True
    from transformers import set_seed

    set_seed(tcfg.seed)  # the adapter's initial weights depend on the seed, not on what ran before
    model, info = build_model(
        preset,
        device,
        precision.weights,
        device_map,
        tokenizer=tokenizer,
        xla_spmd=cores > 1,
        compute_dtype=precision.compute,
        init_adapter=init.weights if init is not None and init.mode == "continue" else None,
    )
    steps_per_epoch = prep.steps_per_epoch
    if tcfg.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch or tcfg.steps_per_epoch, tcfg.steps_per_epoch)
    if not tcfg.max_steps and not steps_per_epoch:
        raise TunerError(
            "a streamed corpus has no length: set train.max_steps or train.steps_per_epoch", kind="config"
        )
    max_steps = tcfg.max_steps or max(1, math.ceil((steps_per_epoch or 1) * tcfg.epochs))

    from core.train.args import training_arguments
    from core.train.callbacks import (
        EventsCallback,
        NonFiniteCallback,
        Progress,
        SamplesCallback,
        StopCallback,
    )
    from core.train.trainer import TunerTrainer

    args = training_arguments(
        preset,
        run_dir / CHECKPOINTS_DIR,
        device,
        precision.autocast,
        max_steps,
        has_eval=prep.eval_dataset is not None,
        xla_spmd=cores > 1,
        resuming=resume_from is not None,
    )
    progress = Progress(max_steps, started)
    progress.step = _resume_step(resume_from)
    progress.world_size = world
    step_ref["progress"] = progress
    stop = StopCallback(progress, parse_duration(tcfg.time_budget) if tcfg.time_budget else None, world, emit)
    callbacks = [EventsCallback(emit, progress, collator, device, world), stop]
    nonfinite = None
    if device != "xla":  # the non-finite check syncs the host every step: not on XLA
        nonfinite = NonFiniteCallback(emit, progress, tcfg.nonfinite_patience, defer=device == "cuda")
        callbacks.insert(1, nonfinite)
    if device == "mps" and os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK") == "1":
        emit(
            ev.WarningEvent(
                message="PYTORCH_ENABLE_MPS_FALLBACK=1: operations MPS lacks run on the CPU (slower where "
                "they occur); set it to 0 to fail on them instead",
                kind="mps",
            )
        )
    if device == "xla" and prep.style != "text":
        emit(
            ev.WarningEvent(
                message="sample generations and exact match are off on XLA: generation has dynamic "
                "shapes (a recompilation per token); run `tuner eval` after training",
                kind="xla",
            )
        )
    elif fsdp_requested() and prep.style != "text":
        # Under FSDP every forward is collective: rank 0 generating alone would wait forever.
        emit(
            ev.WarningEvent(
                message="sample generations and exact match are off under FSDP (generation would need "
                "every rank in step); run `tuner eval` after training",
                kind="fsdp",
            )
        )
    elif rank == 0 and prep.style != "text" and (preset.eval.exact_match_rows or preset.eval.sample_prompts):
        # before EventsCallback: its exact match goes into the eval event
        callbacks.insert(
            0,
            SamplesCallback(
                emit,
                progress,
                tokenizer,
                cast("Style", style),  # not "text": checked above
                preset.data.system_prompt,
                prep.em_rows,
                preset.eval.sample_prompts,
                preset.eval.sample_every,
                preset.eval.max_new_tokens,
            ),
        )
    if rank == 0 and prep.style != "text" and not fsdp_requested():
        from core.train.exec_callback import make_exec_callback

        exec_cb = make_exec_callback(preset, emit, progress, tokenizer, cast("Style", prep.style))
        if exec_cb is not None:
            callbacks.insert(0, exec_cb)  # before EventsCallback: its accuracy goes into the eval event
    trainer = TunerTrainer(
        model=model,
        args=args,
        train_dataset=prep.train_dataset,
        eval_dataset=prep.eval_dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for noisy in (PrinterCallback, ProgressCallback):  # our events are the progress report
        trainer.remove_callback(noisy)
    if nonfinite is not None:
        nonfinite.scaler_state = _scaler_state(trainer)
    trainer.eval_collator = prep.eval_collator
    trainer.progress = progress

    def on_checkpoint(step: int, path: str, seconds: float) -> None:
        progress.save_seconds = max(progress.save_seconds, seconds)
        is_best = progress.best_step == step
        emit(
            ev.Checkpoint(
                step=step, path=path, is_best=is_best, val_loss=progress.last_val_loss if is_best else None
            )
        )

    trainer.on_checkpoint = on_checkpoint

    if rank == 0:
        from core.train.init_from import provenance_record

        write_provenance(
            run_dir,
            data_hash=prep.data_hash,
            base_model=preset.model.id,
            base_model_file_sha256=_model_file_hash(info.source),
            device=device,
            extra={
                **prep.extra,
                "style": style,
                "dtype": str(dtype).replace("torch.", ""),
                "smoke": smoke,
                **provenance_record(init, run_dir),
            },
        )
    emit(
        ev.RunStarted(
            run=run_dir.name,
            run_dir=str(run_dir),
            preset=preset.name,
            model=preset.model.id,
            device=device,
            dtype=str(dtype).replace("torch.", ""),
            adapter=info.adapter,
            trainable_params=info.trainable_params,
            total_params=info.total_params,
            train_rows=prep.train_rows,
            val_rows=prep.val_rows,
            dropped_too_long=prep.dropped_too_long,
            max_steps=max_steps,
            epochs=tcfg.epochs,
            micro_batch_size=tcfg.micro_batch_size,
            grad_accum=tcfg.grad_accum,
            max_seq_len=tcfg.max_seq_len,
            batching=tcfg.batching,
            pid=os.getpid(),
            resumed_from=resume_from,
            world_size=world,
            xla_cores=cores,
        )
    )
    stop.install()
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    finally:
        stop.uninstall()
    if progress.stop_reason == "nonfinite":
        raise TunerError(
            f"stopped after {tcfg.nonfinite_patience} non-finite updates in a row",
            kind="nonfinite",
            hint="lower train.lr, raise train.warmup_ratio, or use float32 (model.dtype)",
        )
    adapter_dir = run_dir / ADAPTER_DIR
    trainer.save_model(str(adapter_dir))  # collective under FSDP (shards are gathered); rank 0 writes
    if rank == 0:
        tokenizer.save_pretrained(str(adapter_dir))
    interrupted = progress.stop_reason in ("signal", "preempted")
    reason = progress.stop_reason or ("max_steps" if tcfg.max_steps else "epochs")
    emit(
        ev.Finished(
            status="interrupted" if interrupted else "finished",
            step=trainer.state.global_step,
            adapter_dir=str(adapter_dir),
            best_checkpoint=trainer.state.best_model_checkpoint,
            best_val_loss=progress.best_val_loss,
            elapsed_s=time.time() - started,
            reason=reason,
        )
    )
    if progress.stop_reason == "preempted" and rank == 0:
        _requeue_slurm_job(emit)  # last: requeueing ends this job's processes
    return "interrupted" if interrupted else "finished"


@contextlib.contextmanager
def _first_on_each_filesystem(world: int) -> Iterator[None]:
    """Rank 0, then each node's first rank, then the rest: the data cache and the embedded model's
    conversion are built once and read by the others, never rebuilt over a folder another rank reads."""
    if world == 1:
        yield
        return
    from accelerate import PartialState

    state = PartialState()
    with state.main_process_first(), state.local_main_process_first():
        yield


def _scaler_state(trainer: Any) -> Callable[[], tuple[bool, float]] | None:
    """(last optimizer step skipped, loss scale) under fp16's GradScaler; None without one."""
    accelerator = trainer.accelerator
    if getattr(accelerator, "scaler", None) is None:
        return None
    return lambda: (bool(accelerator.optimizer_step_was_skipped), float(accelerator.scaler.get_scale()))


def _requeue_slurm_job(emit: Callable[[ev.Event], None]) -> None:
    """After a pre-emption warning (SIGUSR1), put this SLURM job back in the queue: it resumes this run."""
    import subprocess

    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return
    try:
        done = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=60)
        ok, why = done.returncode == 0, (done.stderr or done.stdout).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        ok, why = False, str(e)
    if ok:
        log.info("SLURM job %s requeued: it will resume this run", job)
    else:
        emit(
            ev.WarningEvent(
                message=f"could not requeue SLURM job {job} ({why}): resubmit it to resume", kind="slurm"
            )
        )


def _model_file_hash(src: Any) -> str | None:
    """The GGUF hash for embedded/GGUF models (their identity); None for hub/local folders."""
    marker = Path(src.location) / "SOURCE_GGUF_SHA256"
    return marker.read_text().strip() if marker.is_file() else None
