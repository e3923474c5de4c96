"""`tuner merge`: several runs' LoRA adapters combined into one by PEFT's `add_weighted_adapter`.

The result is a run-like directory `<runs>/<out>/` that `tuner generate/chat/eval` and the
playground load as they load a run: the first source's `preset.toml` (the base model and prompt
format), `adapter/` (the merged adapter and the tokenizer), `provenance.json` (`extra.merge`: the
sources, weights, method, density and seed) and one `finished` event with `reason: "merge"`, so
`tuner runs` lists it as finished. It is written in `.tmp-<out>/` and renamed: a merge cut short
leaves no folder that looks complete.

Refused in one line, before anything loads: adapters trained on different base models, a run
without an adapter (a full fine-tune), different ranks for the methods that need equal ones,
targets PEFT cannot combine, a weight count that is not the run count, an existing `--out`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import TunerError

if TYPE_CHECKING:
    from core.config.schema import Preset

# PEFT's combination types that tuner offers (peft.tuners.lora.LoraModel.add_weighted_adapter)
METHODS = ("linear", "cat", "svd", "ties", "dare_ties", "dare_linear")
EQUAL_RANKS = ("linear", "ties", "dare_ties", "dare_linear")  # PEFT combines A and B rank by rank
NEEDS_DENSITY = ("ties", "dare_ties", "dare_linear")  # the fraction of each delta kept
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class MergeRequest:
    """What `tuner merge` was asked for."""

    runs: list[str]  # "RUN[:checkpoint]" each
    out: str
    method: str = "linear"
    weights: list[float] | None = None  # None: equal weights summing to 1
    density: float | None = None
    seed: int = 0  # dare_* drop entries at random (torch.bernoulli)
    force: bool = False
    runs_root: Path | None = None
    device: str = "cpu"


@dataclass
class Source:
    """One run's adapter, read (not loaded) for the compatibility checks."""

    ref: str
    run_dir: Path
    folder: Path  # adapter/ or the chosen checkpoint
    preset: Preset
    config: dict[str, Any] = field(default_factory=dict)  # adapter_config.json


def parse_weights(text: str) -> list[float]:
    """ "0.5,0.5" → [0.5, 0.5]; a one-line error otherwise."""
    try:
        weights = [float(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise TunerError(
            f"--weights {text!r} is not a list of numbers", kind="config", hint="e.g. --weights 0.5,0.5"
        ) from None
    if not weights:
        raise TunerError("--weights is empty", kind="config", hint="e.g. --weights 0.5,0.5")
    return weights


def read_source(ref: str, root: Path | None) -> Source:
    """A run's adapter folder, preset and adapter_config.json; a full fine-tune is refused."""
    from core.run_model import ADAPTER_CONFIG, read_run_preset, weights_dir
    from core.runs import resolve_run_ref

    run_dir, checkpoint = resolve_run_ref(ref, root)
    preset = read_run_preset(run_dir)
    folder = weights_dir(run_dir, checkpoint)
    config_file = folder / ADAPTER_CONFIG
    if not config_file.is_file():
        raise TunerError(
            f"{run_dir.name} is a full fine-tune: it has no LoRA adapter to merge",
            kind="config",
            hint='merge runs trained with train.adapter = "lora"',
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TunerError(f"cannot read {config_file}: {e}", kind="model") from None
    if config.get("peft_type") != "LORA":
        raise TunerError(
            f"{run_dir.name}'s adapter is {config.get('peft_type')!r}, not LoRA",
            kind="config",
            hint="tuner merge combines LoRA adapters",
        )
    return Source(ref, run_dir, folder, preset, config)


def check_sources(sources: list[Source], method: str, weights: list[float], density: float | None) -> None:
    """Refuse, in one line, what PEFT cannot merge or would merge into nonsense."""
    if method not in METHODS:
        raise TunerError(f"--method {method!r} is not one of {', '.join(METHODS)}", kind="config")
    if len(sources) < 2:
        raise TunerError(
            "tuner merge needs at least two runs", kind="config", hint="tuner merge RUN_A RUN_B …"
        )
    if len(weights) != len(sources):
        raise TunerError(
            f"{len(weights)} weights for {len(sources)} runs",
            kind="config",
            hint="give one weight per run, e.g. --weights " + ",".join(["0.5"] * len(sources)),
        )
    if method in NEEDS_DENSITY and (density is None or not 0 < density <= 1):
        raise TunerError(
            f"--method {method} needs --density between 0 and 1 (the fraction of each adapter kept)",
            kind="config",
            hint="e.g. --density 0.5",
        )
    first = sources[0]
    for s in sources[1:]:
        for what, mine, theirs in (
            ("model.id", first.preset.model.id, s.preset.model.id),
            (
                "adapter base",
                first.config.get("base_model_name_or_path"),
                s.config.get("base_model_name_or_path"),
            ),
        ):
            if mine != theirs:
                raise TunerError(
                    f"{s.run_dir.name} was trained on a different base ({what} {theirs!r}) "
                    f"than {first.run_dir.name} ({mine!r})",
                    kind="config",
                    hint="merge only adapters trained on the same base model",
                )
    ranks = [s.config.get("r") for s in sources]
    if method in EQUAL_RANKS and len(set(ranks)) > 1:
        listed = ", ".join(f"{s.run_dir.name} r={r}" for s, r in zip(sources, ranks, strict=True))
        raise TunerError(
            f"--method {method} needs adapters of equal rank: {listed}",
            kind="config",
            hint="use --method cat (ranks add up) or svd",
        )
    kinds = {type(s.config.get("target_modules")).__name__ for s in sources}
    if len(kinds) > 1:  # PEFT unions lists, ORs regexes, and cannot mix the two
        listed = ", ".join(f"{s.run_dir.name}: {s.config.get('target_modules')!r}" for s in sources)
        raise TunerError(
            f"incompatible lora.target_modules (a list and a pattern): {listed}",
            kind="config",
            hint="merge adapters whose lora.target_modules are both lists of module names",
        )


def _out_dir(req: MergeRequest, sources: list[Source]) -> Path:
    """`<runs>/<out>`, refused when it is a source or exists without --force."""
    from core.runs import runs_root

    if not _NAME.match(req.out):
        raise TunerError(
            f"--out {req.out!r} is not a run name", kind="config", hint="letters, digits, '.', '_', '-'"
        )
    root = Path(req.runs_root) if req.runs_root is not None else runs_root()
    out = root / req.out
    if any(out.resolve() == s.run_dir.resolve() for s in sources):
        raise TunerError(
            f"--out {req.out} is one of the runs being merged", kind="config", hint="pick a new name"
        )
    if out.exists() and not req.force:
        raise TunerError(
            f"{out} already exists", kind="config", hint="pick another --out, or --force to replace it"
        )
    return out


def merge_adapters(req: MergeRequest) -> Path:
    """Merge the runs' adapters through PEFT and write the run-like directory; returns it."""
    started = time.time()
    sources = [read_source(ref, req.runs_root) for ref in req.runs]
    weights = req.weights if req.weights is not None else [1 / len(sources)] * len(sources)
    check_sources(sources, req.method, weights, req.density)
    out = _out_dir(req, sources)
    tmp = out.with_name(f".tmp-{out.name}")
    shutil.rmtree(tmp, ignore_errors=True)  # a merge cut short before
    try:
        rank = _merge_into(tmp, sources, weights, req)
        _write_record(tmp, out, sources, weights, req, rank, time.time() - started)
        _replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _merge_into(tmp: Path, sources: list[Source], weights: list[float], req: MergeRequest) -> int:
    """Load the base with every adapter, add the weighted one, save it alone in tmp/adapter; its rank."""
    import torch
    from peft import PeftModel

    from core.run_model import load_for_inference
    from core.runs import ADAPTER_DIR

    loaded = load_for_inference(
        str(sources[0].run_dir), base=True, device=req.device, quant=False, fit_threads=False
    )
    names = [f"source{i}" for i in range(len(sources))]
    try:
        model = PeftModel.from_pretrained(loaded.model, str(sources[0].folder), adapter_name=names[0])
        for name, s in zip(names[1:], sources[1:], strict=True):
            model.load_adapter(str(s.folder), adapter_name=name)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise TunerError(
            f"cannot load the adapters onto {sources[0].preset.model.id}: {str(e).splitlines()[0]}",
            kind="model",
            hint="the adapter files are incomplete or were made for another base model",
        ) from None
    torch.manual_seed(req.seed)  # dare_* sample which entries to drop
    # "default": PEFT saves that adapter at the folder's top level (others go in sub-folders)
    model.add_weighted_adapter(names, weights, "default", combination_type=req.method, density=req.density)
    model.set_adapter("default")
    for name in names:
        model.delete_adapter(name)
    adapter = tmp / ADAPTER_DIR
    model.save_pretrained(str(adapter))
    loaded.tokenizer.save_pretrained(str(adapter))
    return int(model.peft_config["default"].r)  # type: ignore[attr-defined]  # a LoraConfig


def _write_record(
    tmp: Path,
    out: Path,
    sources: list[Source],
    weights: list[float],
    req: MergeRequest,
    rank: int,
    seconds: float,
) -> None:
    """preset.toml (the first source's), provenance.json and the one `finished` event."""
    from core import events as ev
    from core.runs import ADAPTER_DIR, EVENTS_FILE, PRESET_FILE, write_provenance

    shutil.copyfile(sources[0].run_dir / PRESET_FILE, tmp / PRESET_FILE)
    merge = {
        "sources": [
            {"run": str(s.run_dir.resolve()), "weights_dir": str(s.folder.resolve()), "r": s.config.get("r")}
            for s in sources
        ],
        "weights": weights,
        "method": req.method,
        "density": req.density,
        "seed": req.seed,
        "rank": rank,
    }
    write_provenance(
        tmp,
        data_hash=None,
        base_model=sources[0].preset.model.id,
        base_model_file_sha256=None,
        device=req.device,
        extra={"merge": merge},
    )
    writer = ev.EventWriter(tmp / EVENTS_FILE)
    try:
        writer.write(
            ev.Finished(
                status="finished",
                step=0,
                adapter_dir=str(out / ADAPTER_DIR),
                elapsed_s=seconds,
                reason="merge",
            )
        )
    finally:
        writer.close()


def _replace(tmp: Path, out: Path) -> None:
    """Move tmp into place; an existing out (--force) is removed only once the new one is there."""
    old = out.with_name(f".old-{out.name}")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
