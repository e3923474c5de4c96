"""`tuner doctor`: can this machine run these presets? Checks the environment before a run does.

Sections: Python and packages, the torch build and devices, memory and disk, the cluster, the
Hugging Face Hub, the embedded model, then one section per preset (all presets, or the ones
named): its model, its data sources, its device, bitsandbytes and torch_xla where it needs them.

`quick` (the default) reads only local state — package metadata, the Hugging Face cache
folders, the tuner cache — plus a single HEAD probe of the Hub (run in the background while
torch imports); it loads no model. `full` adds, per preset, the tokenizer and config of every
model that is available locally (never the weights) and, when the Hub answers, model info /
dataset info and one streamed row of each streaming source, each under a timeout; offline
those are "skip" with the reason.

Severity: "fail" means what was asked for cannot run here. A preset's problems that only mean
"not on this machine" (a device that is absent, a model that is not cached while offline) are
"fail" when the user named the preset and "warn" when doctor checks every preset by default,
so `tuner doctor` stays useful (exit 0) on a machine that cannot run every shipped preset.

Everything heavy (torch, transformers, huggingface_hub, datasets) is imported inside functions.

Modules: report (Check, DoctorReport), system, packages, devices, hub_cache, hub_probe,
embedded, presets + preset_model (quick preset checks), full (--full), run (run_doctor),
render (render_report), timeout.
"""

from __future__ import annotations

from core.doctor.devices import DeviceInfo, check_torch
from core.doctor.embedded import check_embedded, embedded_converted_path
from core.doctor.full import full_model_checks, full_source_checks, hub_queries_skipped
from core.doctor.hub_cache import (
    ModelCache,
    check_hf_cache,
    dataset_cache_status,
    download_hint,
    hf_datasets_cache,
    hf_home,
    hf_hub_cache,
    model_cache_status,
)
from core.doctor.hub_probe import HubState, start_hub_probe
from core.doctor.packages import (
    PACKAGES,
    Package,
    check_packages,
    installed_version,
    pip_command,
    version_at_least,
)
from core.doctor.preset_model import ModelPlan, check_model
from core.doctor.presets import (
    EIGHT_BIT_OPTIMIZERS,
    PresetContext,
    check_bnb,
    check_device,
    check_sources,
    check_xla,
    preset_needs_bnb,
)
from core.doctor.render import GLYPHS, render_report
from core.doctor.report import STATUSES, Check, DoctorReport, Status
from core.doctor.run import check_preset, run_doctor
from core.doctor.system import (
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    RAM_WARN_AVAILABLE,
    check_disk,
    check_disks,
    check_memory,
    check_python,
)
from core.doctor.timeout import DEFAULT_TIMEOUT_S, run_with_timeout

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DISK_FAIL_BYTES",
    "DISK_WARN_BYTES",
    "EIGHT_BIT_OPTIMIZERS",
    "GLYPHS",
    "PACKAGES",
    "RAM_WARN_AVAILABLE",
    "STATUSES",
    "Check",
    "DeviceInfo",
    "DoctorReport",
    "HubState",
    "ModelCache",
    "ModelPlan",
    "Package",
    "PresetContext",
    "Status",
    "check_bnb",
    "check_device",
    "check_disk",
    "check_disks",
    "check_embedded",
    "check_hf_cache",
    "check_memory",
    "check_model",
    "check_packages",
    "check_preset",
    "check_python",
    "check_sources",
    "check_torch",
    "check_xla",
    "dataset_cache_status",
    "download_hint",
    "embedded_converted_path",
    "full_model_checks",
    "full_source_checks",
    "hf_datasets_cache",
    "hf_home",
    "hf_hub_cache",
    "hub_queries_skipped",
    "installed_version",
    "model_cache_status",
    "pip_command",
    "preset_needs_bnb",
    "render_report",
    "run_doctor",
    "run_with_timeout",
    "start_hub_probe",
    "version_at_least",
]
