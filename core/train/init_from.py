"""`model.init_from = "RUN[:checkpoint]"`: a run (a phase) that starts from an earlier run's weights.

Three cases, decided by what the earlier run trained and by `model.init_mode`:

- **full**: it trained the whole model (`train.adapter = "full"`, from scratch or not): this run's
  `model.id` becomes that run's saved model folder (its `[model.scratch]` section is dropped: the
  model is now a pretrained one, tokenizer included).
- **merge** (LoRA, the default): its adapter is merged into its base (PEFT `merge_and_unload`) and
  saved as `<this run>/base/`, which becomes this run's `model.id`; a fresh adapter trains on top.
- **continue** (LoRA): the same base and the same adapter, whose weights are loaded before training.

Resolved once, when the run starts: the run's preset.toml then names the model it really trained
on, so resuming, `tuner chat/eval/merge` and the playground load it like any other run.
provenance.json's `extra.init_from` says which run, checkpoint and mode it started from.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config.schema import Preset
from core.errors import TunerError
from core.runs import resolve_run_ref

PREVIOUS = "previous"  # init_from's placeholder for the phase before, filled in by `tuner run --then`
BASE_DIR = "base"  # in a merge-mode run: the earlier run's adapter merged into its base


@dataclass(frozen=True)
class InitPlan:
    """Where a run starts from: the earlier run, its weights folder, and how they are used."""

    run_dir: Path
    checkpoint: str | None
    weights: Path  # the earlier run's adapter/ or checkpoint folder
    mode: str  # "full" | "merge" | "continue"
    model: str  # the model the earlier run's lineage started from (its root model id)

    def record(self) -> dict[str, Any]:
        """What provenance.json keeps under extra.init_from."""
        return {
            "run": str(self.run_dir),
            "checkpoint": self.checkpoint,
            "weights": str(self.weights),
            "mode": self.mode,
            "root_model": self.model,
        }


def root_model(run_dir: Path, preset: Preset) -> str:
    """The model id a run's lineage started from (its own model.id unless it began from another run)."""
    from core.run_model import read_provenance

    record = read_provenance(run_dir).get("extra", {}).get("init_from")
    if isinstance(record, dict) and isinstance(record.get("root_model"), str):
        return record["root_model"]
    return preset.model.id


def plan_init(preset: Preset, runs_root: Path | None = None) -> tuple[Preset, InitPlan]:
    """Check `model.init_from` against the earlier run and return the preset this run trains with."""
    from core.run_model import ADAPTER_CONFIG, read_run_preset, weights_dir

    ref = preset.model.init_from
    assert ref is not None
    if ref == PREVIOUS or ref.startswith(f"{PREVIOUS}:"):
        raise TunerError(
            f'model.init_from = "{ref}" names the phase before, and there is none',
            kind="config",
            hint=f"run it after another phase: tuner run PHASE1 --then {preset.name}, or name a run",
        )
    run_dir, checkpoint = resolve_run_ref(ref, runs_root)
    earlier = read_run_preset(run_dir)
    weights = weights_dir(run_dir, checkpoint).resolve()
    full = not (weights / ADAPTER_CONFIG).is_file()
    mode = "full" if full else (preset.model.init_mode or "merge")
    root = root_model(run_dir, earlier)
    _check_model(preset, earlier, run_dir, root)
    p = preset.model_copy(deep=True)
    p.model.init_from = f"{run_dir.resolve()}{f':{checkpoint}' if checkpoint else ''}"
    if full:
        p.model.id, p.model.scratch, p.model.gguf_file, p.model.revision = str(weights), None, None, None
    elif mode == "continue":
        _check_same_adapter(preset, earlier, run_dir)
        p.model = p.model.model_copy(
            update={k: getattr(earlier.model, k) for k in ("id", "revision", "gguf_file", "scratch")}
        )
    return p, InitPlan(run_dir.resolve(), checkpoint, weights, mode, root)


def _check_model(preset: Preset, earlier: Preset, run_dir: Path, root: str) -> None:
    """Refuse a phase whose model is not the one the earlier run trained (or an architecture switch)."""
    sc, before = preset.model.scratch, earlier.model.scratch
    if sc is not None:
        if before is None:
            raise TunerError(
                f"{run_dir.name} fine-tuned {root!r}; this preset builds a model from scratch",
                kind="config",
                hint="drop [model.scratch] and set model.id to that model",
            )
        for key in ("architecture", "size"):
            if getattr(before, key) != getattr(sc, key):
                raise TunerError(
                    f"{run_dir.name} was trained with model.scratch.{key} = {getattr(before, key)!r}, "
                    f"this preset asks for {getattr(sc, key)!r}: the weights do not fit that architecture",
                    kind="config",
                    hint=f"set model.scratch.{key} = {getattr(before, key)!r} for this phase",
                )
        return
    if preset.model.id not in (root, earlier.model.id):
        raise TunerError(
            f"{run_dir.name} was trained on {root!r}, this preset's model.id is {preset.model.id!r}",
            kind="config",
            hint=f'set model.id = "{root}" to continue from that run',
        )


def _check_same_adapter(preset: Preset, earlier: Preset, run_dir: Path) -> None:
    """init_mode = "continue" trains the earlier adapter further: same kind, rank, alpha and targets."""
    if preset.train.adapter != "lora":
        raise TunerError(
            f'init_mode = "continue" keeps training {run_dir.name}\'s LoRA adapter, '
            f'but this preset has train.adapter = "{preset.train.adapter}"',
            kind="config",
            hint='set model.init_mode = "merge" to fine-tune the merged model',
        )
    for key in ("r", "alpha", "target_modules"):
        mine, theirs = getattr(preset.lora, key), getattr(earlier.lora, key)
        if mine != theirs:
            raise TunerError(
                f'init_mode = "continue": lora.{key} = {mine!r} but {run_dir.name}\'s adapter has {theirs!r}',
                kind="config",
                hint=f'set lora.{key} = {theirs!r}, or model.init_mode = "merge" for a new adapter',
            )


def apply_init(preset: Preset, plan: InitPlan, run_dir: Path, device: str, main: bool) -> Preset:
    """The preset to train with once the earlier weights are in place (merge mode writes base/)."""
    if plan.mode != "merge":
        return preset
    target = Path(run_dir) / BASE_DIR
    if not (target / "config.json").is_file():
        merge_into_base(plan, target, device)
    p = preset.model_copy(deep=True)
    p.model.id, p.model.gguf_file, p.model.revision = str(target.resolve()), None, None
    if main:  # the run's preset.toml names what it trains on: resume and chat/eval load that
        from core.runs import write_run_preset

        write_run_preset(run_dir, p)
    return p


def merge_into_base(plan: InitPlan, target: Path, device: str) -> None:
    """The earlier run's base + adapter, merged by PEFT and saved whole (with its tokenizer) at `target`."""
    import gc

    from core.run_model import load_for_inference

    loaded = load_for_inference(
        str(plan.run_dir),
        checkpoint=plan.checkpoint,
        device="cpu" if device == "xla" else device,
        quant=False,  # merging into 4-bit weights would round them again: merge into the full base
        fit_threads=False,
    )
    merged = loaded.model.merge_and_unload()
    tmp = target.with_name(f".tmp-{target.name}")
    shutil.rmtree(tmp, ignore_errors=True)  # a merge cut short before
    merged.save_pretrained(str(tmp))
    loaded.tokenizer.save_pretrained(str(tmp))
    os.replace(tmp, target)  # a base/ folder is whole or absent
    del merged, loaded
    gc.collect()


def link_to_previous(init_from: str | None, previous: Path) -> list[str]:
    """The --set that starts a phase from the run before it: init_from unset or "previous[:checkpoint]"."""
    if init_from is not None and init_from != PREVIOUS and not init_from.startswith(f"{PREVIOUS}:"):
        return []  # the phase names its own run
    checkpoint = init_from.partition(":")[2] if init_from else ""
    target = f"{Path(previous).resolve()}{f':{checkpoint}' if checkpoint else ''}"
    return [f"model.init_from={json.dumps(target)}"]  # a JSON string is a TOML string


def provenance_record(plan: InitPlan | None, run_dir: Path) -> dict[str, Any]:
    """{"init_from": …} for provenance's extra: this start's plan, or (resuming) what the run recorded."""
    if plan is not None:
        return {"init_from": plan.record()}
    from core.run_model import read_provenance

    kept = read_provenance(run_dir).get("extra", {}).get("init_from")
    return {"init_from": kept} if kept else {}
