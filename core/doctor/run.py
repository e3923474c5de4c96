"""Run every doctor check in order (system, packages, devices, disk, cluster, Hub, embedded model, presets) into a DoctorReport."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from core.doctor.devices import check_torch
from core.doctor.embedded import check_embedded
from core.doctor.full import full_model_checks, full_source_checks, hub_queries_skipped
from core.doctor.hub_cache import check_hf_cache
from core.doctor.hub_probe import start_hub_probe
from core.doctor.packages import check_packages
from core.doctor.preset_model import check_model
from core.doctor.presets import (
    PresetContext,
    check_bnb,
    check_device,
    check_sources,
    check_xla,
    preset_needs_bnb,
)
from core.doctor.report import Check, DoctorReport
from core.doctor.system import check_disks, check_memory, check_python
from core.doctor.timeout import DEFAULT_TIMEOUT_S
from core.errors import TunerError


def check_preset(ref: str, ctx: PresetContext) -> tuple[str, list[Check]]:
    """All checks of one preset (name or path); returns (section title, checks)."""
    from core.config.loader import load_preset

    try:
        preset, path = load_preset(ref)
    except TunerError as e:
        return f"preset {ref}", [
            Check("preset", "fail", e.message, e.hint or f"`tuner presets validate {ref}`")
        ]
    out: list[Check] = []
    model_checks, plan = check_model(preset, path.parent, ctx)
    out += model_checks
    out += check_sources(preset, path.parent, ctx)
    if preset.model.device == "xla":  # one check says what XLA needs (torch_xla + PJRT_DEVICE)
        xla = check_xla(preset, ctx)
        assert xla is not None
        out.append(xla)
        device = "xla" if xla.status == "pass" else None
    else:
        dev_check, device = check_device(preset, ctx)
        out.append(dev_check)
    bnb = check_bnb(preset, device, ctx)
    if bnb is not None:
        out.append(bnb)
    if ctx.full:
        out += full_model_checks(preset, plan, ctx)
        out += full_source_checks(preset, ctx)
        skipped = hub_queries_skipped(preset, plan, ctx)
        if skipped is not None:
            out.append(skipped)
    return f"preset {preset.name}", out


def _load_quietly(refs: Iterable[str]) -> list[Any]:
    from core.config.loader import load_preset

    out = []
    for ref in refs:
        try:
            out.append(load_preset(ref)[0])
        except TunerError:
            pass
    return out


def run_doctor(
    presets: list[str] | None = None,
    *,
    full: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Run every check; `presets` are names or paths (None/empty: every shipped and user preset).

    `on_check` is called with each check as it is made (for progress displays)."""
    started = time.perf_counter()
    report = DoctorReport(mode="full" if full else "quick")
    hub_result = start_hub_probe()  # overlaps torch's import below

    def add(section: str, checks: Iterable[Check]) -> None:
        for c in checks:
            c.section = section
            report.checks.append(c)
            if on_check is not None:
                on_check(c)

    from core.config.loader import list_presets

    named = bool(presets)
    refs = list(presets) if presets else [pf.name for pf in list_presets()]
    report.presets = refs
    loaded = _load_quietly(refs)

    add("system", [check_python()])
    torch_checks, devices = check_torch()
    # An optional package is "needed here" for a GPU/PJRT machine or a preset the user named;
    # for the default all-presets check the preset sections report it instead.
    add(
        "packages",
        check_packages(
            needs_bnb=named and any(preset_needs_bnb(p) for p in loaded),
            wants_gpu=devices.cuda,
            wants_xla=bool(os.environ.get("PJRT_DEVICE"))
            or (named and any(p.model.device == "xla" for p in loaded)),
        ),
    )
    add("torch & devices", torch_checks)
    add("memory & disk", [check_memory(), *check_disks()])
    from core.cluster import (
        doctor_checks as cluster_checks,  # SLURM / torchrun / shared folders (docs/cluster.md)
    )

    add("cluster", cluster_checks())
    hub_check, hub = hub_result()
    add("Hugging Face Hub", [hub_check, check_hf_cache()])
    add("embedded model", check_embedded())
    for ref in refs:
        ctx = PresetContext(devices=devices, hub=hub, named=named, full=full, timeout=timeout)
        section, checks = check_preset(ref, ctx)
        add(section, checks)
    report.elapsed_s = time.perf_counter() - started
    return report
