"""Load a finished (or checkpointed) run's model for `tuner generate/chat/eval` and the TUI: base + adapter.

The base is loaded as it was trained (4/8-bit for a QLoRA run, unless asked otherwise), on the
device `--device` picked (never XLA unless named: it recompiles per generated token).

The run's resolved `preset.toml` says which base model, prompt format and system prompt it was
trained with; `adapter/` (or a complete checkpoint) holds the PEFT LoRA adapter, or the whole
model for `train.adapter = "full"`. Nothing generated is ever executed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import TunerError
from core.runs import (
    ADAPTER_DIR,
    CHECKPOINT_PREFIX,
    COMPLETE_MARKER,
    EVENTS_FILE,
    PRESET_FILE,
    PROVENANCE_FILE,
    complete_checkpoints,
    resolve_run,
)

if TYPE_CHECKING:
    from core.config.schema import Preset
    from core.data.formatting import Style

ADAPTER_CONFIG = "adapter_config.json"
MODEL_CONFIG = "config.json"
_TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")


@dataclass
class Loaded:
    """A model ready to answer: the weights, how to prompt them, and where they came from."""

    model: Any
    tokenizer: Any
    style: Style  # core.data.formatting
    system_prompt: str | None
    label: str  # "quickstart-20261121-101335/adapter", ".../checkpoint-10" or "base: <model id>"
    run_dir: Path | None  # None for a preset's base model loaded without a run (load_preset_base)
    preset: Preset
    weights_dir: Path | None = None  # the adapter / checkpoint folder; None for the base model
    device: str = "cpu"
    load_seconds: float = 0.0
    base_note: str = (
        ""  # how the base was loaded: "base in 4-bit NF4 (as trained)", "base unquantized (fp32)"
    )
    device_note: str | None = None  # why generation runs elsewhere than `auto` would pick (XLA → CPU)


def read_run_preset(run_dir: Path) -> Preset:
    """The run's resolved preset (its preset.toml), validated."""
    from core.config.loader import read_toml, validate_preset

    path = Path(run_dir) / PRESET_FILE
    if not path.is_file():
        raise TunerError(
            f"{run_dir} has no {PRESET_FILE}",
            kind="config",
            hint="point at a run directory made by `tuner run` (see `tuner runs`)",
        )
    data = read_toml(path)
    data.setdefault("name", Path(run_dir).name)
    return validate_preset(data, str(path))


def read_provenance(run_dir: Path) -> dict[str, Any]:
    """provenance.json as a dict ({} when absent or unreadable)."""
    try:
        data = json.loads((Path(run_dir) / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _has_weights(folder: Path) -> bool:
    return (folder / ADAPTER_CONFIG).is_file() or (folder / MODEL_CONFIG).is_file()


def _best_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint the run marked best (finished event, else the last is_best checkpoint event)."""
    from core.events import read_events

    best = None
    for ev in read_events(run_dir / EVENTS_FILE):
        if ev.get("type") == "checkpoint" and ev.get("is_best") and ev.get("path"):
            best = ev["path"]
        elif ev.get("type") == "finished" and ev.get("best_checkpoint"):
            best = ev["best_checkpoint"]
    if best is None:
        return None
    path = Path(best)
    return path if path.is_absolute() else run_dir / path


def checkpoint_dir(run_dir: Path, ref: str) -> Path:
    """A complete checkpoint of the run: "latest", "best", "checkpoint-N", "N", or a folder path."""
    run_dir = Path(run_dir)
    done = complete_checkpoints(run_dir)
    names = ", ".join(p.name for p in done) or "none"
    if ref == "latest":
        if not done:
            raise TunerError(
                f"{run_dir.name} has no complete checkpoint",
                kind="config",
                hint="checkpoints are saved every train.save_every steps",
            )
        return done[-1]
    if ref == "best":
        best = _best_checkpoint(run_dir)
        if best is None or not best.is_dir():
            raise TunerError(
                f"{run_dir.name} has no best checkpoint recorded",
                kind="config",
                hint=f"use --checkpoint latest or one of: {names}",
            )
        path = best
    else:
        as_path = Path(ref).expanduser()
        if as_path.is_dir() and (as_path.is_absolute() or str(ref).startswith(".")):
            path = as_path
        else:
            name = ref if ref.startswith(CHECKPOINT_PREFIX) else f"{CHECKPOINT_PREFIX}{ref}"
            path = run_dir / "checkpoints" / name
            if not path.is_dir():
                raise TunerError(
                    f"{run_dir.name} has no checkpoint {ref!r}",
                    kind="config",
                    hint=f"complete checkpoints: {names}",
                )
    if not (path / COMPLETE_MARKER).is_file():
        raise TunerError(
            f"checkpoint {path.name} of {run_dir.name} is incomplete (its save was interrupted)",
            kind="config",
            hint=f"complete checkpoints: {names}",
        )
    if not _has_weights(path):
        raise TunerError(
            f"checkpoint {path} holds no {ADAPTER_CONFIG} or {MODEL_CONFIG}",
            kind="model",
            hint=f"complete checkpoints: {names}",
        )
    return path


def weights_dir(run_dir: Path, checkpoint: str | None = None) -> Path:
    """The folder to load on top of the base model: `adapter/`, or the chosen checkpoint."""
    run_dir = Path(run_dir)
    if checkpoint:
        return checkpoint_dir(run_dir, checkpoint)
    folder = run_dir / ADAPTER_DIR
    if _has_weights(folder):
        return folder
    done = complete_checkpoints(run_dir)
    if done:
        hint = f"try --checkpoint latest ({done[-1].name}), or --base for the base model"
    else:
        from core.runs import run_info

        status = run_info(run_dir).status
        hint = (
            "it is still training and has no complete checkpoint yet; wait, or use --base"
            if status == "running"
            else "it has no complete checkpoint either; use --base for the base model"
        )
    if folder.is_dir():
        raise TunerError(f"{run_dir.name}/{ADAPTER_DIR} holds no {ADAPTER_CONFIG}", kind="model", hint=hint)
    raise TunerError(f"{run_dir.name} has no adapter yet", kind="model", hint=hint)


def _load_tokenizer(preset: Preset, folder: Path | None) -> Any:
    """The tokenizer saved with the adapter (what training used), else the preset's."""
    if folder is not None and any((folder / f).is_file() for f in _TOKENIZER_FILES):
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=preset.model.trust_remote_code)
        except (OSError, ValueError) as e:
            raise TunerError(
                f"cannot read the tokenizer in {folder}: {_first_line(e)}", kind="model"
            ) from None
    else:
        from core.models.loader import load_tokenizer

        tok = load_tokenizer(preset.model)
        if tok is None:
            raise TunerError(
                f"{folder or 'the base model'} has no tokenizer",
                kind="model",
                hint="a from-scratch run saves its tokenizer with the adapter; the run may be incomplete",
            )
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _model_kwargs(preset: Preset, dtype: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": preset.model.trust_remote_code}
    if preset.model.attn_implementation:
        kwargs["attn_implementation"] = preset.model.attn_implementation
    return kwargs


def _load_base(preset: Preset, dtype: Any, extra: dict[str, Any]) -> Any:
    """The run's base model; `extra` carries the quantization config and device_map (see _load_plan)."""
    from transformers import AutoModelForCausalLM

    from core.models.loader import from_pretrained, resolve_model

    src = resolve_model(preset.model)
    if src.kind == "scratch":
        raise TunerError(
            "this run trained a model from scratch: it has no base model",
            kind="model",
            hint="drop --base and load its adapter/ (or --checkpoint)",
        )
    try:
        return from_pretrained(AutoModelForCausalLM, src, **_model_kwargs(preset, dtype), **extra)
    except TunerError:
        raise
    except (OSError, ValueError) as e:
        raise TunerError(
            f"cannot load the base model {preset.model.id!r}: {_first_line(e)}",
            kind="model",
            hint="check [model] id in the run's preset.toml",
        ) from None


# ---------------------------------------------------------------------------------- device, quantization

XLA_NOTE = "generating on the CPU: XLA recompiles per token; --device xla to force"
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N, mps or xla"
_DTYPE_NAMES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def parse_device(text: str) -> str:
    """A --device value in its canonical form ("CUDA:1" → "cuda:1"); ValueError when it is none of them."""
    value = text.strip().lower()
    kind, sep, index = value.partition(":")
    if kind in ("auto", "cpu", "cuda", "mps", "xla") and not sep:
        return value
    if kind == "cuda" and sep and index.isdigit():
        return f"cuda:{int(index)}"
    raise ValueError(f"expected {DEVICE_CHOICES}, got {text!r}")


def generation_device(preference: str, selected: str) -> tuple[str, str | None]:
    """Where to generate, and a note to print: XLA only when asked for by name (it recompiles per token)."""
    if selected == "xla" and preference != "xla":
        return "cpu", XLA_NOTE
    return selected, None


def select_inference_device(preference: str = "auto") -> tuple[str, str | None]:
    """The checked device ("cuda:1" kept as given) and the note of generation_device; one-line errors."""
    try:
        preference = parse_device(preference)
    except ValueError as e:
        raise TunerError(f"--device: {e}", kind="config") from None
    from core.device import select_device

    kind, _, index = preference.partition(":")
    try:
        selected = select_device(kind)
    except TunerError as e:  # its wording names the preset key; here the flag was given
        raise TunerError(
            e.message.replace(f'model.device = "{kind}"', f"--device {preference}"),
            kind=e.kind,
            hint=e.hint.replace("--set model.device=", "--device "),
        ) from None
    if index:
        from core.gpus import torch_gpu_count

        count = torch_gpu_count() or 0
        if int(index) >= count:
            raise TunerError(
                f"--device {preference} but this machine has {count} CUDA GPU"
                f"{'' if count == 1 else 's'} (cuda:0 to cuda:{count - 1})",
                kind="device",
                hint="--device cuda uses the first; CUDA_VISIBLE_DEVICES renumbers them",
            )
        selected = preference
    return generation_device(preference, selected)


def _dtype_name(dtype: Any) -> str:
    """torch.bfloat16 → "bf16"."""
    name = str(dtype).removeprefix("torch.")
    return _DTYPE_NAMES.get(name, name)


def _quant_name(preset: Preset) -> str:
    """ "4-bit NF4", "4-bit FP4" or "8-bit"."""
    if preset.quant.bits == 4:
        return f"4-bit {preset.quant.quant_type.upper()}"
    return "8-bit"


def _load_plan(preset: Preset, device: str, quant: bool) -> tuple[Any, dict[str, Any], str]:
    """(dtype, extra from_pretrained kwargs, "how the base is loaded") for a run's base on `device`."""
    # A quantized run's base is loaded as it was trained, with the trainer's own BitsAndBytesConfig:
    # the adapter learned against the dequantized 4-bit weights, and on CUDA the weights stream
    # straight to the GPU (never a full-precision copy in host RAM). On the CPU the dtype stays
    # fp32 whatever model.dtype says, as before (and as the trainer's "auto" on a CPU).
    from core.device import resolve_dtype

    kind, _, index = device.partition(":")
    try:
        dtype = resolve_dtype("float32" if kind == "cpu" else preset.model.dtype, kind)
    except TunerError:  # e.g. trained in bf16 elsewhere, generating on a GPU without bf16
        dtype = resolve_dtype("auto", kind)
    extra: dict[str, Any] = {}
    if kind == "cuda":
        extra["device_map"] = {"": int(index or 0)}  # weights go to the GPU as they are read
    dtype_name = _dtype_name(dtype)
    if not preset.quant.bits:
        return dtype, extra, f"base {dtype_name}"
    if not quant:
        return dtype, extra, f"base unquantized ({dtype_name}, --no-quant)"
    if kind not in ("cpu", "cuda"):
        return dtype, extra, f"base unquantized ({dtype_name}): bitsandbytes does not run on {kind}"
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise TunerError(
            f"this run's base was trained in {_quant_name(preset)} (bitsandbytes is not installed)",
            kind="dependency",
            hint="pip install bitsandbytes, or --no-quant to load it unquantized",
        )
    from core.models.build import quantization_config

    # "auto" computes in dtype
    extra["quantization_config"] = quantization_config(preset, compute_dtype=dtype)
    extra.setdefault("device_map", {"": "cpu"})
    return dtype, extra, f"base in {_quant_name(preset)} (as trained)"


def _place(model: Any, extra: dict[str, Any], dev: str) -> None:
    """On `dev` in eval mode; a model loaded with a device_map is already placed."""
    if "device_map" not in extra:
        model.to(dev)
    model.eval()


def load_for_inference(
    run_ref: str | None,
    *,
    base: bool = False,
    checkpoint: str | None = None,
    runs_root: Path | str | None = None,
    device: str = "auto",
    quant: bool = True,
    fit_threads: bool = True,
) -> Loaded:
    """Load a run's model for generation: its base model (as trained) plus `adapter/` or a checkpoint.

    `run_ref` is a run directory, a run name or unique prefix, or "latest" (None: latest).
    `base=True` loads only the base model (the "before" of a before/after comparison).
    `device`: auto, cpu, cuda, cuda:N, mps or xla (auto never picks XLA: see generation_device).
    `quant=False` loads a 4/8-bit run's base unquantized (see _load_plan).
    On CPU, `fit_threads` lowers torch's thread count while the machine is busy (fit_cpu_threads).
    """
    import time

    started = time.perf_counter()
    if base and checkpoint:
        raise TunerError("give --base or --checkpoint, not both", kind="config")
    dev, device_note = select_inference_device(device)  # a bad --device fails before anything is read
    run_dir = resolve_run(run_ref or "latest", Path(runs_root) if runs_root is not None else None)
    preset = read_run_preset(run_dir)
    folder = None if base else weights_dir(run_dir, checkpoint)

    from core.data.formatting import resolve_style

    if dev == "cpu" and fit_threads:
        fit_cpu_threads()
    full = folder is not None and not (folder / ADAPTER_CONFIG).is_file()  # train.adapter = "full"
    dtype, extra, base_note = _load_plan(preset, dev, quant and not full)
    tokenizer = _load_tokenizer(preset, folder)
    style = resolve_style(tokenizer, preset.data.prompt_format)

    if folder is None:
        model = _load_base(preset, dtype, extra)
        label = f"base: {preset.model.id}"
    elif not full:
        from peft import PeftModel

        model = _load_base(preset, dtype, extra)
        try:
            model = PeftModel.from_pretrained(model, str(folder))
        except (OSError, ValueError, RuntimeError, KeyError) as e:
            raise TunerError(
                f"cannot load the adapter in {folder}: {_first_line(e)}",
                kind="model",
                hint="the adapter files are incomplete or were made for another base model",
            ) from None
        label = f"{run_dir.name}/{_rel(folder, run_dir)}"
    else:  # the folder is a whole model
        from transformers import AutoModelForCausalLM

        try:
            model = AutoModelForCausalLM.from_pretrained(str(folder), **_model_kwargs(preset, dtype), **extra)
        except (OSError, ValueError) as e:
            raise TunerError(
                f"cannot load the model in {folder}: {_first_line(e)}",
                kind="model",
                hint="the model files are incomplete",
            ) from None
        label = f"{run_dir.name}/{_rel(folder, run_dir)}"
        base_note = f"full fine-tune ({_dtype_name(dtype)})"
    _place(model, extra, dev)
    return Loaded(
        model,
        tokenizer,
        style,
        preset.data.system_prompt,
        label,
        run_dir,
        preset,
        folder,
        dev,
        time.perf_counter() - started,
        base_note,
        device_note,
    )


def load_preset_base(preset_ref: str = "quickstart", *, device: str = "auto", quant: bool = True) -> Loaded:
    """The base model of a preset, before any run exists (the playground's first "before")."""
    import time

    from core.config.loader import load_preset
    from core.data.formatting import resolve_style

    started = time.perf_counter()
    dev, device_note = select_inference_device(device)
    preset, _ = load_preset(preset_ref)
    if dev == "cpu":
        fit_cpu_threads()
    dtype, extra, base_note = _load_plan(preset, dev, quant)
    tokenizer = _load_tokenizer(preset, None)
    model = _load_base(preset, dtype, extra)
    _place(model, extra, dev)
    return Loaded(
        model,
        tokenizer,
        resolve_style(tokenizer, preset.data.prompt_format),
        preset.data.system_prompt,
        f"base: {preset.model.id}",
        None,
        preset,
        None,
        dev,
        time.perf_counter() - started,
        base_note,
        device_note,
    )


def _export_run_dir(folder: Path) -> Path:
    """The run an export came from: its manifest's run path, else the run around `<run>/exports/<name>`."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        recorded = Path(manifest["run"]["path"])
    except (OSError, ValueError, KeyError, TypeError):
        recorded = None
    if recorded is not None and (recorded / PRESET_FILE).is_file():
        return recorded
    around = folder.parent.parent
    if folder.parent.name == "exports" and (around / PRESET_FILE).is_file():
        return around  # the run folder was moved with its exports inside it
    raise TunerError(
        f"{folder} does not say which run it came from",
        kind="config",
        hint="its manifest.json names the run; that run's preset.toml gives the prompt format",
    )


def load_merged_export(folder: Path | str, *, device: str = "auto", fit_threads: bool = True) -> Loaded:
    """A merged export (`tuner export --format merged`) for generation, prompted as its run was."""
    import time

    started = time.perf_counter()
    dev, device_note = select_inference_device(device)
    folder = Path(folder)
    if not (folder / MODEL_CONFIG).is_file():
        raise TunerError(
            f"{folder} holds no {MODEL_CONFIG}",
            kind="model",
            hint="export the run with `tuner export RUN --format merged`",
        )
    run_dir = _export_run_dir(folder)
    preset = read_run_preset(run_dir)  # the prompt format and system prompt the run trained with
    if dev == "cpu" and fit_threads:
        fit_cpu_threads()
    dtype, extra, _ = _load_plan(preset, dev, quant=False)  # merged weights are never re-quantized
    tokenizer = _load_tokenizer(preset, folder)  # the export's own: its chat template and stop tokens

    from transformers import AutoModelForCausalLM

    from core.data.formatting import resolve_style

    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(folder), **_model_kwargs(preset, dtype), **extra
        )
    except (OSError, ValueError) as e:
        raise TunerError(
            f"cannot load the model in {folder}: {_first_line(e)}",
            kind="model",
            hint="the export is incomplete; export it again with --force",
        ) from None
    _place(model, extra, dev)
    return Loaded(
        model,
        tokenizer,
        resolve_style(tokenizer, preset.data.prompt_format),
        preset.data.system_prompt,
        f"{run_dir.name}/exports/{folder.name}",
        run_dir,
        preset,
        folder,
        dev,
        time.perf_counter() - started,
        f"merged export ({_dtype_name(dtype)})",
        device_note,
    )


def _rel(folder: Path, run_dir: Path) -> str:
    try:
        return folder.resolve().relative_to(run_dir.resolve()).as_posix().removeprefix("checkpoints/")
    except ValueError:
        return str(folder)


def fit_cpu_threads() -> int | None:
    """Use fewer torch threads for CPU generation while other processes keep the CPUs busy.

    Decoding a small model is hundreds of tiny parallel regions per token; when another process
    holds a core, each of them waits for a descheduled OpenMP thread, and a forward pass that takes
    0.3 s on one thread takes 2–10 s on two (measured on a 2-CPU machine at load 8). The thread
    count becomes the CPUs left free by the 1-minute load average (at least 1, at most torch's
    default). Left alone when OMP_NUM_THREADS is set. Returns the new count, or None if unchanged.
    """
    import os

    if os.environ.get("OMP_NUM_THREADS"):
        return None
    try:
        load = os.getloadavg()[0]
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    except OSError:
        return None
    import torch

    current = torch.get_num_threads()
    threads = max(1, min(current, int(cpus - load + 0.5)))
    if threads == current:
        return None
    torch.set_num_threads(threads)
    return threads
