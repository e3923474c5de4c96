"""What the playground can load: each run's adapter, newest checkpoints and merged exports, and each base model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuner_tui.fmt import short_model


@dataclass(frozen=True)
class ModelChoice:
    """A run's adapter (or a checkpoint of it), a run's base model, or a preset's base before any run."""

    label: str
    run_dir: str | None
    base: bool = False
    checkpoint: str | None = None
    preset: str | None = None  # the base model of a preset, when there is no run
    export: str | None = None  # a merged export's folder (`tuner export --format merged`)

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.run_dir, self.base, self.checkpoint, self.preset, self.export)


def has_weights(folder: Path) -> bool:
    """A folder with a PEFT adapter or a full model (what core.run_model can load)."""
    return (folder / "adapter_config.json").is_file() or (folder / "config.json").is_file()


def merged_exports(run_dir: Path) -> list[Path]:
    """The run's finished merged exports (`<run>/exports/*/` whose manifest says format merged), newest first."""
    try:
        from core.export.target import list_exports
    except ImportError:  # a core without `tuner export`: no exports to offer
        return []
    return [e.path for e in list_exports(run_dir) if e.format == "merged" and has_weights(e.path)]


def model_choices(infos: list[Any]) -> list[tuple[str, ModelChoice]]:
    """(label, choice) for runs (core.runs.RunInfo, newest first): adapters and checkpoints, then bases."""
    from core.runs import complete_checkpoints

    options: list[tuple[str, ModelChoice]] = []
    bases: dict[str, ModelChoice] = {}
    for r in infos:
        path = Path(r.path)
        if has_weights(path / "adapter"):
            options.append((f"{r.name} · adapter", ModelChoice(f"{r.name} · adapter", str(path))))
        for ck in [c for c in complete_checkpoints(path) if has_weights(c)][-2:]:
            label = f"{r.name} · {ck.name}"
            options.append((label, ModelChoice(label, str(path), checkpoint=str(ck))))
        for folder in merged_exports(path):
            label = f"{r.name} · export {folder.name}"
            options.append((label, ModelChoice(label, str(path), export=str(folder))))
        if r.model and r.model not in bases and (path / "preset.toml").is_file():
            label = f"base · {short_model(r.model)}"
            bases[r.model] = ModelChoice(label, str(path), base=True)
    if not bases:  # nothing trained yet: the quickstart base model, to try prompts before training
        bases["quickstart"] = ModelChoice(
            "base · quickstart preset model", None, base=True, preset="quickstart"
        )
    return options + [(c.label, c) for c in bases.values()]
