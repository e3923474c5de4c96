"""The Python packages tuner needs or can use: installed, new enough, and how to install them."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass

from core.doctor.report import Check, Status


@dataclass(frozen=True)
class Package:
    """A package doctor checks: where to find it, the oldest version tuner supports, and why."""

    dist: str  # distribution name (importlib.metadata)
    module: str  # import name (importlib.util.find_spec)
    minimum: str | None
    required: bool
    purpose: str


PACKAGES: tuple[Package, ...] = (
    Package("torch", "torch", "2.3", True, "tensors and training"),
    Package("transformers", "transformers", "4.45", True, "models and tokenizers"),
    Package("peft", "peft", "0.12", True, "LoRA adapters"),
    Package("datasets", "datasets", "2.20", True, "Hugging Face datasets"),
    Package("accelerate", "accelerate", "0.34", True, "device placement"),
    Package("bitsandbytes", "bitsandbytes", "0.45", False, "QLoRA (quant.bits) and 8-bit optimizers"),
    Package("trl", "trl", None, False, "not used by tuner's trainer"),
    Package("textual", "textual", "0.80", True, "the TUI"),
    Package("rich", "rich", "13", True, "terminal output"),
    Package("pydantic", "pydantic", "2.6", True, "preset validation"),
    Package("bashlex", "bashlex", "0.18", True, "bash syntax checks"),
    Package("psutil", "psutil", "5.9", True, "memory readings"),
    Package("gguf", "gguf", "0.10", True, "reading the embedded GGUF model"),
    Package("huggingface_hub", "huggingface_hub", None, True, "the Hub and its cache"),
    Package("nvidia-ml-py", "pynvml", "12", False, "GPU utilisation readings"),
    Package("torch_xla", "torch_xla", None, False, 'TPU training (model.device = "xla")'),
)


def package(dist: str) -> Package:
    """The PACKAGES entry of distribution `dist`."""
    return next(p for p in PACKAGES if p.dist == dist)


def installed_version(pkg: Package) -> str | None:
    """The installed version, or None when the package is missing (no metadata or not importable)."""
    try:
        version = importlib.metadata.version(pkg.dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    except Exception:  # broken metadata counts as missing
        return None
    try:
        if importlib.util.find_spec(pkg.module) is None:
            return None
    except (ImportError, ValueError):
        return None
    return version or "unknown version"


def version_at_least(version: str, minimum: str) -> bool:
    """version >= minimum, by packaging's rules (or by the leading numbers when packaging cannot parse it)."""
    try:
        from packaging.version import Version

        return Version(version) >= Version(minimum)
    except Exception:  # packaging missing or an odd version string: compare numbers

        def nums(v: str) -> tuple[int, ...]:
            out = []
            for part in v.split("+")[0].split("."):
                digits = "".join(ch for ch in part if ch.isdigit())
                if not digits:
                    break
                out.append(int(digits))
            return tuple(out)

        return nums(version) >= nums(minimum)


def pip_command(pkg: Package, upgrade: bool = False) -> str:
    """The one-sentence fix that installs (or upgrades) `pkg`."""
    if pkg.dist == "torch":
        return (
            "install the torch wheel for this machine: `pip install -U torch` (CPU) or the CUDA index "
            "for your driver, see https://pytorch.org/get-started/locally/"
        )
    if pkg.dist == "torch_xla":
        return "on a TPU VM: `pip install 'torch_xla[tpu]'` (the release matching your torch) and export PJRT_DEVICE=TPU"
    spec = f"{pkg.dist}>={pkg.minimum}" if pkg.minimum else pkg.dist
    return f"`pip install {'-U ' if upgrade else ''}'{spec}'`"


def check_packages(
    *, needs_bnb: bool = False, wants_gpu: bool = False, wants_xla: bool = False
) -> list[Check]:
    """One check per package: required missing/too old → fail; optional missing → warn when
    something here needs it (a preset, a GPU, PJRT_DEVICE), else skip."""
    out: list[Check] = []
    wanted = {"bitsandbytes": needs_bnb, "nvidia-ml-py": wants_gpu, "torch_xla": wants_xla}
    for pkg in PACKAGES:
        version = installed_version(pkg)
        if version is None:
            if pkg.required:
                out.append(
                    Check(pkg.dist, "fail", f"not installed (needed for {pkg.purpose})", pip_command(pkg))
                )
            elif wanted.get(pkg.dist):
                out.append(
                    Check(
                        pkg.dist,
                        "warn",
                        f"not installed (optional, needed here: {pkg.purpose})",
                        pip_command(pkg),
                    )
                )
            else:
                out.append(Check(pkg.dist, "skip", f"not installed (optional: {pkg.purpose})"))
            continue
        if pkg.minimum and version != "unknown version" and not version_at_least(version, pkg.minimum):
            status: Status = "fail" if pkg.required else "warn"
            out.append(
                Check(
                    pkg.dist,
                    status,
                    f"{version} is older than the {pkg.minimum} tuner needs ({pkg.purpose})",
                    pip_command(pkg, upgrade=True),
                )
            )
            continue
        out.append(Check(pkg.dist, "pass", version + ("" if pkg.required else " (optional)")))
    return out
