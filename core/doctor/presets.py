"""A preset's quick checks besides its model: data sources, device, bitsandbytes and torch_xla, and the context they share."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.doctor.devices import DeviceInfo
from core.doctor.hub_cache import dataset_cache_status, download_hint
from core.doctor.hub_probe import HubState
from core.doctor.packages import installed_version, package, pip_command, version_at_least
from core.doctor.report import Check, Status, first_line, tilde
from core.doctor.timeout import DEFAULT_TIMEOUT_S, run_with_timeout
from core.errors import TunerError
from core.units import fmt_bytes

EIGHT_BIT_OPTIMIZERS = ("adamw_bnb_8bit", "paged_adamw_8bit")


@dataclass
class PresetContext:
    """What the preset checks need to know about the machine."""

    devices: DeviceInfo
    hub: HubState
    named: bool  # the user named the preset: "not runnable here" is a failure, else a warning
    full: bool = False
    timeout: float = DEFAULT_TIMEOUT_S

    @property
    def here(self) -> Status:
        """The status of a 'not runnable on this machine' problem."""
        return "fail" if self.named else "warn"


def preset_needs_bnb(preset: Any) -> bool:
    """True when the preset needs bitsandbytes (quant.bits or an 8-bit optimizer)."""
    return bool(preset.quant.bits) or preset.train.optimizer in EIGHT_BIT_OPTIMIZERS


def source_label(src: Any) -> str:
    """'data: NAME', the check name of a data source."""
    from core.data.sources import source_name

    try:
        return f"data: {source_name(src)}"
    except Exception:  # an odd source still gets a label
        return f"data: {src.kind}"


def check_sources(preset: Any, base_dir: Path, ctx: PresetContext) -> list[Check]:
    """One check per data source: bundled, a local file, or a Hub dataset (in the cache, or reachable)."""
    from core.data.sources import bundled_dataset_path, resolve_path

    out: list[Check] = []
    for src in preset.data.sources:
        label = source_label(src)
        if src.kind == "bundled":
            p = bundled_dataset_path()
            out.append(
                Check(
                    label,
                    "pass" if p.is_file() else "fail",
                    f"bundled set {p.name}" if p.is_file() else f"{p} is missing from the package",
                    "" if p.is_file() else "reinstall tuner (pip install -e .)",
                )
            )
            continue
        if src.kind == "file":
            p = resolve_path(src.path or "", base_dir)
            if p.is_file():
                out.append(Check(label, "pass", f"{tilde(p)} ({fmt_bytes(p.stat().st_size)})"))
            else:
                # a shipped preset's local corpus (nl2bash) missing here is "not runnable here", not broken
                out.append(
                    Check(
                        label,
                        ctx.here,
                        f"{src.path} does not exist (looked in the working directory and {tilde(base_dir)})",
                        "fix the source's path (relative paths are tried from the preset's folder too)",
                    )
                )
            continue
        out.append(_check_hub_source(preset, src, label, ctx))
    return out


def _check_hub_source(preset: Any, src: Any, label: str, ctx: PresetContext) -> Check:
    hub_id = src.id or ""
    what = hub_id + (f" ({src.config})" if src.config else "") + (", streaming" if src.streaming else "")
    # Column mapping: an instruct source needs instruction/command fields (built in or set).
    if preset.data.task == "instruct":
        from core.data.hub import resolve_spec

        spec = resolve_spec(hub_id, instruction_field=src.instruction_field, command_field=src.command_field)
        if spec.instruction_field is None or spec.command_field is None:
            return Check(
                label,
                "fail",
                f"{hub_id} has no built-in normalizer and no instruction_field/command_field",
                "set instruction_field and command_field in the [[data.sources]] entry "
                "(`tuner data preview` lists the columns)",
            )
    cached, where = dataset_cache_status(hub_id)
    if cached:
        return Check(label, "pass", f"{what}: {where}")
    if ctx.hub.reachable:
        how = (
            "streamed from the Hub during the run"
            if src.streaming
            else "downloaded from the Hub at the first data build"
        )
        return Check(
            label,
            "pass" if src.streaming else "warn",
            f"{what}: {where}; {how}",
            "" if src.streaming else f"optional: `huggingface-cli download --repo-type dataset {hub_id}` now",
        )
    return Check(label, ctx.here, f"{what}: {where}; {ctx.hub.why}", download_hint(hub_id, "dataset"))


def check_device(preset: Any, ctx: PresetContext) -> tuple[Check, str | None]:
    """The device the preset would run on, or why it cannot run here."""
    pref = preset.model.device
    if not ctx.devices.torch_ok:
        return Check("device", "skip", "torch is not importable"), None
    if pref == "auto":
        return Check("device", "pass", f"auto → {ctx.devices.auto}"), ctx.devices.auto
    from core.device import select_device

    try:
        dev = select_device(pref)
    except TunerError as e:
        return Check("device", ctx.here, e.message, e.hint), None
    return Check("device", "pass", dev), dev


def check_bnb(preset: Any, device: str | None, ctx: PresetContext) -> Check | None:
    """bitsandbytes for quant.bits / 8-bit optimizers: installed, and usable on the device."""
    if not preset_needs_bnb(preset):
        return None
    why = " + ".join(
        ([f"quant.bits = {preset.quant.bits}"] if preset.quant.bits else [])
        + ([f"optimizer {preset.train.optimizer}"] if preset.train.optimizer in EIGHT_BIT_OPTIMIZERS else [])
    )
    pkg = package("bitsandbytes")
    version = installed_version(pkg)
    if version is None:
        return Check("bitsandbytes", ctx.here, f"needed ({why}) but not installed", pip_command(pkg))
    dev = device or preset.model.device
    if device is None:
        return Check(
            "bitsandbytes", "skip", f"{version} installed ({why}); device {dev} is not available here"
        )
    if dev in ("mps", "xla"):
        return Check(
            "bitsandbytes",
            ctx.here,
            f"needed ({why}) but bitsandbytes does not run on {dev}",
            "--set quant.bits=0 --set train.optimizer=adamw_torch",
        )
    if dev == "cpu" and not version_at_least(version, "0.45"):
        return Check(
            "bitsandbytes", ctx.here, f"{version} has no CPU backend ({why})", pip_command(pkg, upgrade=True)
        )
    if ctx.full:
        try:
            run_with_timeout(lambda: importlib.import_module("bitsandbytes"), ctx.timeout)
        except Exception as e:  # any import failure: a broken install
            return Check(
                "bitsandbytes",
                ctx.here,
                f"{version} does not import: {first_line(e)}",
                "reinstall bitsandbytes for this CUDA/torch (`pip install -U bitsandbytes`)",
            )
    note = " (CPU backend: slow, meant for CUDA)" if dev == "cpu" else ""
    return Check(
        "bitsandbytes", "pass", f"{version} on {dev} ({why}){note}" + (", imports" if ctx.full else "")
    )


def check_xla(preset: Any, ctx: PresetContext) -> Check | None:
    """For a device = "xla" preset: torch_xla installed and PJRT_DEVICE set; None for other presets."""
    if preset.model.device != "xla":
        return None
    pkg = package("torch_xla")
    version = installed_version(pkg)
    if version is None:
        return Check(
            "device: xla",
            ctx.here,
            'model.device = "xla" needs torch_xla, which is not installed',
            pip_command(pkg),
        )
    if not os.environ.get("PJRT_DEVICE"):
        return Check(
            "device: xla",
            ctx.here,
            f"torch_xla {version} installed but PJRT_DEVICE is unset",
            "export PJRT_DEVICE=TPU",
        )
    return Check("device: xla", "pass", f"torch_xla {version}, PJRT_DEVICE={os.environ['PJRT_DEVICE']}")
