"""`tuner doctor`: can this machine run these presets? Checks the environment before a run does.

Sections: Python and packages, the torch build and devices, memory and disk, the Hugging Face
Hub, the embedded model, then one section per preset (all presets, or the ones named): its
model, its data sources, its device, bitsandbytes and torch_xla where it needs them.

`quick` (the default) reads only local state — package metadata, the Hugging Face cache
folders, the tuner cache — plus a single HEAD probe of the Hub (run in the background while
torch imports); it loads no model and finishes in a few seconds. `full` adds, per preset, the
tokenizer and config of every model that is available locally (never the weights) and, when
the Hub answers, model info / dataset info and one streamed row of each streaming source,
each under a timeout; offline those are "skip" with the reason.

Severity: "fail" means what was asked for cannot run here. A preset's problems that only mean
"not on this machine" (a device that is absent, a model that is not cached while offline) are
"fail" when the user named the preset and "warn" when doctor checks every preset by default,
so `tuner doctor` stays useful (exit 0) on a machine that cannot run every shipped preset.

Everything heavy (torch, transformers, huggingface_hub, datasets) is imported inside functions.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.errors import TunerError

Status = Literal["pass", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip")
GB = 1_000_000_000
DISK_WARN_BYTES = 20 * GB
DISK_FAIL_BYTES = 2 * GB
RAM_WARN_AVAILABLE = 2 * GB
DEFAULT_TIMEOUT_S = 30.0
EIGHT_BIT_OPTIMIZERS = ("adamw_bnb_8bit", "paged_adamw_8bit")


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str = ""
    fix: str = ""  # what to do about a warn/fail, one sentence; empty when nothing to do
    section: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class DoctorReport:
    """All checks of one `tuner doctor` invocation."""

    checks: list[Check] = field(default_factory=list)
    mode: Literal["quick", "full"] = "quick"
    presets: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for c in self.checks:
            out[c.status] += 1
        return out

    @property
    def exit_code(self) -> int:
        """1 when any check failed, else 0."""
        return 1 if any(c.status == "fail" for c in self.checks) else 0

    def summary_line(self) -> str:
        """'N passed, N warnings, N failed'."""
        n = self.counts()
        return f"{n['pass']} passed, {n['warn']} warning{'' if n['warn'] == 1 else 's'}, {n['fail']} failed"

    def sections(self) -> list[str]:
        seen: list[str] = []
        for c in self.checks:
            if c.section not in seen:
                seen.append(c.section)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "presets": self.presets,
            "elapsed_s": round(self.elapsed_s, 3),
            "summary": self.counts(),
            "exit_code": self.exit_code,
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _tilde(path: Path | str) -> str:
    text = str(path)
    home = str(Path.home())
    return "~" + text[len(home) :] if text == home or text.startswith(home + os.sep) else text


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def run_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """fn() in a daemon thread; TimeoutError if it has not finished within `timeout` s (the thread
    is abandoned: network calls cannot be interrupted, but the doctor goes on)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, daemon=True, name="tuner-doctor")
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def hf_home() -> Path:
    """HF_HOME as the Hugging Face libraries compute it, read from the environment now."""
    env = os.environ.get("HF_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface"


def hf_hub_cache() -> Path:
    """Where models and Hub datasets are downloaded (HF_HUB_CACHE, default $HF_HOME/hub)."""
    env = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    return Path(env).expanduser() if env else hf_home() / "hub"


def hf_datasets_cache() -> Path:
    """Where `datasets` keeps prepared Arrow copies (HF_DATASETS_CACHE, default $HF_HOME/datasets)."""
    env = os.environ.get("HF_DATASETS_CACHE")
    return Path(env).expanduser() if env else hf_home() / "datasets"


def download_hint(hub_id: str, repo_type: str = "model", revision: str | None = None) -> str:
    """The one sentence that says how to get a Hub repo onto an offline machine."""
    flags = (" --repo-type dataset" if repo_type == "dataset" else "") + (
        f" --revision {revision}" if revision else ""
    )
    return (
        f"on a machine with internet run `huggingface-cli download{flags} {hub_id}` (`hf download` with "
        f"huggingface_hub ≥ 1.0), then copy its cache to {_tilde(hf_home())} here or set HF_HOME to the copy"
    )


# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
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


def installed_version(pkg: Package) -> str | None:
    """The installed version, or None when the package is missing (no metadata or not importable)."""
    try:
        version = importlib.metadata.version(pkg.dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - broken metadata counts as missing
        return None
    try:
        if importlib.util.find_spec(pkg.module) is None:
            return None
    except (ImportError, ValueError):
        return None
    return version or "unknown version"


def version_at_least(version: str, minimum: str) -> bool:
    try:
        from packaging.version import Version

        return Version(version) >= Version(minimum)
    except Exception:  # noqa: BLE001 - packaging missing or an odd version string: compare numbers

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


def check_python() -> Check:
    v = sys.version_info
    text = f"{platform.python_version()} ({sys.executable})"
    if v < (3, 10):
        return Check(
            "Python", "fail", text + ": tuner needs Python 3.10 or newer", "create the venv with python3.11"
        )
    return Check("Python", "pass", text)


# ---------------------------------------------------------------------------------------------
# torch and devices
# ---------------------------------------------------------------------------------------------


def _nvidia_driver_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


@dataclass
class DeviceInfo:
    """What the torch checks found; the preset checks reuse it."""

    torch_ok: bool = False
    cuda: bool = False
    mps: bool = False
    xla: bool = False
    auto: str | None = None


def _nvml_free(index: int) -> int | None:
    try:
        from core.sysinfo import _nvml, _nvml_handle

        nvml = _nvml()
        if nvml is None:
            return None
        return int(nvml.nvmlDeviceGetMemoryInfo(_nvml_handle(nvml, index)).free)
    except Exception:  # noqa: BLE001
        return None


def check_torch() -> tuple[list[Check], DeviceInfo]:
    """torch build, CUDA GPUs, MPS, XLA and the device `auto` picks."""
    info = DeviceInfo()
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - missing or broken torch
        return [
            Check("torch build", "fail", f"torch does not import: {_first_line(e)}", pip_command(PACKAGES[0]))
        ], info
    info.torch_ok = True
    out: list[Check] = []
    cuda_v = getattr(torch.version, "cuda", None)
    hip_v = getattr(torch.version, "hip", None)
    if cuda_v:
        build = f"CUDA {cuda_v} build"
    elif hip_v:
        build = f"ROCm {hip_v} build"
    else:
        build = "CPU-only build"
    threads = f"; {torch.get_num_threads()} CPU threads of {os.cpu_count()} cores"
    if not cuda_v and not hip_v and _nvidia_driver_present():
        out.append(
            Check(
                "torch build",
                "warn",
                f"torch {torch.__version__}, {build}, but an NVIDIA driver is present",
                "install the CUDA build of torch for your driver (https://pytorch.org/get-started/locally/)",
            )
        )
    else:
        out.append(Check("torch build", "pass", f"torch {torch.__version__}, {build}{threads}"))

    # CUDA
    try:
        info.cuda = bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        info.cuda = False
    if info.cuda:
        for i in range(torch.cuda.device_count()):
            try:
                prop = torch.cuda.get_device_properties(i)
                free = _nvml_free(i)
                mem = fmt_bytes(prop.total_memory) + (
                    f" ({fmt_bytes(free)} free)" if free is not None else ""
                )
                bf16 = "bf16" if prop.major >= 8 else "no bf16 (fp16)"
                out.append(
                    Check(
                        f"CUDA GPU {i}",
                        "pass",
                        f"{prop.name}, {mem}, compute {prop.major}.{prop.minor}, {bf16}",
                    )
                )
            except Exception as e:  # noqa: BLE001
                out.append(Check(f"CUDA GPU {i}", "warn", f"cannot read its properties: {_first_line(e)}"))
    elif cuda_v and _nvidia_driver_present():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        out.append(
            Check(
                "CUDA",
                "warn",
                "a CUDA build and an NVIDIA driver, but torch sees no GPU"
                + (f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""),
                "check `nvidia-smi`, that the driver supports CUDA "
                + str(cuda_v)
                + ", and CUDA_VISIBLE_DEVICES",
            )
        )
    else:
        out.append(Check("CUDA", "skip", "no CUDA GPU visible"))

    # MPS
    if platform.system() != "Darwin":
        out.append(Check("MPS", "skip", "Apple silicon only (this is " + platform.system() + ")"))
    else:
        mps = getattr(torch.backends, "mps", None)
        info.mps = bool(mps and mps.is_available())
        if info.mps:
            out.append(Check("MPS", "pass", "available"))
        else:
            built = bool(mps and mps.is_built())
            out.append(
                Check(
                    "MPS",
                    "warn",
                    "not available"
                    + (
                        " (torch built with MPS; macOS 12.3+ on Apple silicon needed)"
                        if built
                        else " in this torch build"
                    ),
                    "install a torch build with MPS support on Apple silicon",
                )
            )

    # XLA
    pjrt = os.environ.get("PJRT_DEVICE")
    has_xla = importlib.util.find_spec("torch_xla") is not None
    info.xla = has_xla and bool(pjrt)
    if info.xla:
        out.append(Check("XLA", "pass", f"torch_xla installed, PJRT_DEVICE={pjrt}"))
    elif has_xla:
        out.append(
            Check(
                "XLA",
                "warn",
                "torch_xla installed but PJRT_DEVICE is unset",
                "export PJRT_DEVICE=TPU (or CPU/CUDA)",
            )
        )
    elif pjrt:
        out.append(
            Check(
                "XLA", "warn", f"PJRT_DEVICE={pjrt} but torch_xla is not installed", pip_command(PACKAGES[-1])
            )
        )
    else:
        out.append(Check("XLA", "skip", "torch_xla not installed, PJRT_DEVICE unset"))

    try:
        from core.device import select_device

        info.auto = select_device("auto")
        note = " (no accelerator: training runs on the CPU, slowly)" if info.auto == "cpu" else ""
        out.append(Check("device auto", "pass", f'model.device = "auto" picks {info.auto}{note}'))
    except Exception as e:  # noqa: BLE001
        out.append(Check("device auto", "fail", f"cannot pick a device: {_first_line(e)}"))
    return out, info


# ---------------------------------------------------------------------------------------------
# Memory and disk
# ---------------------------------------------------------------------------------------------


def check_memory() -> Check:
    try:
        import psutil

        vm = psutil.virtual_memory()
    except Exception as e:  # noqa: BLE001
        return Check("memory", "skip", f"cannot read: {_first_line(e)}")
    text = f"{fmt_bytes(vm.available)} available of {fmt_bytes(vm.total)} RAM"
    if vm.available < RAM_WARN_AVAILABLE:
        return Check("memory", "warn", text, "close other programs, or pick a smaller preset/model")
    return Check("memory", "pass", text)


def _existing_parent(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def check_disk(label: str, path: Path) -> Check:
    """Free space where `path` lives (or would be created): warn under 20 GB, fail under 2 GB."""
    where = _existing_parent(path)
    shown = _tilde(path.absolute()) + ("" if path.exists() else " (not created yet)")
    try:
        usage = shutil.disk_usage(where)
    except OSError as e:
        return Check(f"disk: {label}", "warn", f"{shown}: cannot read free space ({e.strerror})")
    text = f"{fmt_bytes(usage.free)} free of {fmt_bytes(usage.total)} at {shown}"
    env = {"runs": "TUNER_RUNS_DIR", "tuner cache": "TUNER_CACHE", "HF cache": "HF_HOME"}.get(label, "")
    move = f"free space, or point {env} at a bigger disk" if env else "free space"
    if usage.free < DISK_FAIL_BYTES:
        return Check(f"disk: {label}", "fail", text + " (under 2 GB)", move)
    if usage.free < DISK_WARN_BYTES:
        return Check(
            f"disk: {label}", "warn", text + " (under 20 GB: checkpoints and models need room)", move
        )
    return Check(f"disk: {label}", "pass", text)


def check_disks() -> list[Check]:
    from core.models.embedded import cache_root
    from core.runs import runs_root

    return [
        check_disk("runs", runs_root()),
        check_disk("tuner cache", cache_root()),
        check_disk("HF cache", hf_home()),
    ]


# ---------------------------------------------------------------------------------------------
# The Hub and the caches
# ---------------------------------------------------------------------------------------------


@dataclass
class HubState:
    reachable: bool = False
    why: str = ""  # why not, for skip/offline messages
    endpoint: str = "https://huggingface.co"


def _offline_env() -> str | None:
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on", "y", "t"}:
            return var
    return None


def start_hub_probe() -> Callable[[], tuple[Check, HubState]]:
    """Start the single Hub probe in the background (it overlaps torch's import); the returned
    function waits for it and gives the check."""
    box: dict[str, Any] = {}
    offline = _offline_env()

    def probe() -> None:
        t = time.perf_counter()
        try:
            from core.data import hub

            box["ok"] = hub.hub_reachable(refresh=True)
        except Exception:  # noqa: BLE001
            box["ok"] = False
        box["took"] = time.perf_counter() - t

    thread = None
    if offline is None:
        thread = threading.Thread(target=probe, daemon=True, name="tuner-doctor-hub")
        thread.start()

    def result() -> tuple[Check, HubState]:
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        if offline is not None:
            why = f"{offline} is set"
            return Check(
                "Hub", "skip", f"not probed ({why}); only cached models and datasets are used"
            ), HubState(False, why, endpoint)
        assert thread is not None
        thread.join(30)
        took = box.get("took", 0.0)
        if box.get("ok"):
            return Check("Hub", "pass", f"{endpoint} answered in {took:.1f} s"), HubState(True, "", endpoint)
        why = "the Hub is unreachable"
        return (
            Check(
                "Hub",
                "warn",
                f"{endpoint} did not answer ({took:.1f} s): offline, only cached models and datasets can be used",
                "check the network or proxy (HTTPS_PROXY), or set HF_ENDPOINT to a mirror; offline, copy a Hugging Face cache here",
            ),
            HubState(False, why, endpoint),
        )

    return result


def _dir_count(path: Path, prefix: str) -> int:
    try:
        return sum(1 for p in path.iterdir() if p.name.startswith(prefix))
    except OSError:
        return 0


def check_hf_cache() -> Check:
    hub = hf_hub_cache()
    models, datasets = _dir_count(hub, "models--"), _dir_count(hub, "datasets--")
    prepared = _dir_count(hf_datasets_cache(), "")
    home = f"HF_HOME={_tilde(hf_home())}"
    if not hub.exists() and not hf_datasets_cache().exists():
        return Check("HF cache", "pass", f"{home}: empty (nothing downloaded yet)")
    return Check(
        "HF cache",
        "pass",
        f"{home}: {models} models, {datasets} datasets in hub/, {prepared} entries in datasets/",
    )


@dataclass
class ModelCache:
    """Where a hub model stands in the local cache."""

    cached: bool
    snapshot: Path | None = None
    detail: str = ""
    complete: bool = False  # weights present too


def _weights_present(snapshot: Path) -> tuple[bool, str]:
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = snapshot / index_name
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            except Exception:  # noqa: BLE001
                return False, f"{index_name} is unreadable"
            missing = [s for s in shards if not (snapshot / s).exists()]
            if missing:
                return False, f"{len(missing)} of {len(shards)} weight shards missing"
            return True, f"{len(shards)} weight shards"
    for pattern in ("*.safetensors", "*.bin", "*.gguf"):
        files = [p for p in snapshot.glob(pattern) if p.exists()]
        if files:
            return True, f"weights {files[0].name} ({fmt_bytes(sum(p.stat().st_size for p in files))})"
    return False, "no weight files"


def model_cache_status(
    repo_id: str, revision: str | None = None, *, tokenizer_only: bool = False
) -> ModelCache:
    """Whether a hub model's config.json and weights (or, `tokenizer_only`, its
    tokenizer_config.json) are in the local HF cache; no network."""
    from huggingface_hub import try_to_load_from_cache

    cache = hf_hub_cache()
    marker = "tokenizer_config.json" if tokenizer_only else "config.json"
    try:
        found = try_to_load_from_cache(repo_id, marker, cache_dir=str(cache), revision=revision)
    except Exception as e:  # noqa: BLE001 - HFValidationError for ids that are no repo id
        return ModelCache(False, detail=f"not a valid Hub id ({_first_line(e)})")
    if isinstance(found, str):
        snap = Path(found).parent
        if tokenizer_only:
            return ModelCache(True, snap, f"cached at {_tilde(snap)}", complete=True)
        ok, what = _weights_present(snap)
        return ModelCache(True, snap, f"cached at {_tilde(snap)} ({what})", complete=ok)
    # A copied cache may hold a snapshot without refs/<revision>: say so.
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    snaps = [p for p in (repo_dir / "snapshots").glob(f"*/{marker}")] if repo_dir.is_dir() else []
    if snaps:
        return ModelCache(
            False,
            snaps[0].parent,
            f"a snapshot is cached at {_tilde(snaps[0].parent)} but refs/{revision or 'main'} is missing",
        )
    return ModelCache(False, detail="not in the local cache")


def _camel_to_snake(name: str) -> str:
    import re

    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name)
    return name.lower()


def dataset_cache_status(repo_id: str) -> tuple[bool, str]:
    """Whether a Hub dataset is in the local cache: downloaded files in the hub cache
    (repo_type="dataset") or a prepared Arrow copy in the datasets cache; no network."""
    hub_dir = hf_hub_cache() / ("datasets--" + repo_id.replace("/", "--")) / "snapshots"
    if hub_dir.is_dir() and any(hub_dir.iterdir()):
        return True, f"cached at {_tilde(hub_dir.parent)}"
    parts = repo_id.split("/")
    parts[-1] = _camel_to_snake(parts[-1])
    prepared = hf_datasets_cache() / "___".join(parts)
    if prepared.is_dir() and any(p.is_dir() for p in prepared.glob("*/*/*")):
        return True, f"prepared copy at {_tilde(prepared)}"
    return False, "not in the local cache"


# ---------------------------------------------------------------------------------------------
# The embedded model
# ---------------------------------------------------------------------------------------------


def embedded_converted_path(gguf: Path) -> Path:
    """Where `converted_dir` keeps the safetensors copy of `gguf`, computed without converting
    (and without writing the hash stamp)."""
    from core.models.embedded import _hash_marker, cache_root

    return _converted_path(str(gguf), _hash_marker(gguf), str(cache_root()))


@functools.lru_cache(maxsize=16)
def _converted_path(gguf_path: str, marker: str, root: str) -> Path:
    gguf = Path(gguf_path)
    stamp = Path(root) / "gguf-hashes" / (gguf.name + "." + marker)
    if stamp.is_file():
        digest = stamp.read_text().strip()
    else:  # ~0.1 s for the 98 MB embedded file
        from core.data.sources import file_sha256

        digest = file_sha256(gguf)
    return Path(root) / "models" / f"{gguf.stem}-{digest[:16]}"


def _converted_ok(target: Path) -> bool:
    return (target / "config.json").is_file() and (target / "model.safetensors").is_file()


def check_embedded() -> list[Check]:
    from core.models.embedded import embedded_gguf_path

    try:
        gguf = embedded_gguf_path()
    except TunerError as e:
        return [Check("GGUF file", "fail", e.message, e.hint)]
    out = [Check("GGUF file", "pass", f"{_tilde(gguf)} ({fmt_bytes(gguf.stat().st_size)})")]
    target = embedded_converted_path(gguf)
    if _converted_ok(target):
        out.append(Check("converted copy", "pass", f"{_tilde(target)}"))
    else:
        out.append(
            Check(
                "converted copy", "pass", f"not converted yet: the first load writes {_tilde(target)} (~11 s)"
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------------------------


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
        return "fail" if self.named else "warn"


def preset_needs_bnb(preset: Any) -> bool:
    return bool(preset.quant.bits) or preset.train.optimizer in EIGHT_BIT_OPTIMIZERS


@dataclass
class ModelPlan:
    """How the preset's model would be found, for the quick check and the --full loads."""

    kind: str  # embedded | gguf | local | hub | scratch | missing
    location: str | None = None  # folder / hub id to load the tokenizer+config from
    gguf_file: str | None = None  # load from GGUF (embedded not converted yet)
    local: bool = False  # available without the network
    revision: str | None = None
    hub_id: str | None = None  # set when it comes from a Hub repo (model, or a scratch tokenizer)


def _check_hub_model(
    hub_id: str, revision: str | None, ctx: PresetContext, label: str
) -> tuple[Check, ModelPlan]:
    st = model_cache_status(hub_id, revision, tokenizer_only=label == "tokenizer")
    plan = ModelPlan("hub", hub_id, local=st.cached, revision=revision, hub_id=hub_id)
    if st.detail.startswith("not a valid Hub id"):
        return Check(
            label,
            "fail",
            f"{hub_id!r} is neither an existing folder nor a Hub id: {st.detail}",
            "set [model] id to a Hub id (owner/name), a local folder or a .gguf file",
        ), ModelPlan("missing")
    if st.cached and st.complete:
        return Check(label, "pass", f"{hub_id}: {st.detail}"), plan
    if st.cached:
        status: Status = "warn" if ctx.hub.reachable else ctx.here
        fix = "" if ctx.hub.reachable else download_hint(hub_id, revision=revision)
        more = "the rest downloads on first use" if ctx.hub.reachable else ctx.hub.why
        return Check(label, status, f"{hub_id}: {st.detail}; {more}", fix), plan
    if ctx.hub.reachable:
        return Check(
            label,
            "warn",
            f"{hub_id}: {st.detail}; the first run downloads it from the Hub",
            f"optional: `huggingface-cli download {hub_id}` now, so the run starts at once",
        ), plan
    return Check(
        label, ctx.here, f"{hub_id}: {st.detail}; {ctx.hub.why}", download_hint(hub_id, revision=revision)
    ), plan


def check_model(preset: Any, base_dir: Path, ctx: PresetContext) -> tuple[list[Check], ModelPlan]:
    from core.config.schema import EMBEDDED_MODEL

    cfg = preset.model
    if cfg.scratch is not None:
        s = cfg.scratch
        checks = [
            Check(
                "model",
                "pass",
                f"built from a config: {s.architecture} {s.size}, vocab {s.vocab_size}, "
                f"context {s.context_length} (nothing to download)",
            )
        ]
        if s.tokenizer:
            path = Path(s.tokenizer).expanduser()
            if path.exists():
                checks.append(Check("tokenizer", "pass", f"local {_tilde(path)}"))
                return checks, ModelPlan("scratch", str(path), local=True)
            check, plan = _check_hub_model(s.tokenizer, None, ctx, "tokenizer")
            checks.append(check)
            return checks, ModelPlan("scratch", plan.location, local=plan.local, hub_id=plan.hub_id)
        checks.append(Check("tokenizer", "pass", "trained on the corpus (BPE) at the start of the run"))
        return checks, ModelPlan("scratch")
    if cfg.id.startswith("embedded:"):
        if cfg.id != EMBEDDED_MODEL:
            return [
                Check("model", "fail", f"unknown embedded model {cfg.id!r}", f'use id = "{EMBEDDED_MODEL}"')
            ], ModelPlan("missing")
        from core.models.embedded import embedded_gguf_path

        try:
            gguf = embedded_gguf_path()
        except TunerError as e:
            return [Check("model", "fail", e.message, e.hint)], ModelPlan("missing")
        target = embedded_converted_path(gguf)
        if _converted_ok(target):
            return [Check("model", "pass", f"{cfg.id}: converted copy cached")], ModelPlan(
                "embedded", str(target), local=True
            )
        return (
            [Check("model", "pass", f"{cfg.id}: GGUF present, converted on first use (~11 s)")],
            ModelPlan("embedded", str(gguf.parent), gguf_file=gguf.name, local=True),
        )
    path = Path(cfg.id).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            return [
                Check("model", "fail", f"GGUF file {str(path)!r} does not exist", "fix [model] id")
            ], ModelPlan("missing")
        target = embedded_converted_path(path)
        state = "converted copy cached" if _converted_ok(target) else "converted on first use"
        plan = (
            ModelPlan("gguf", str(target), local=True)
            if _converted_ok(target)
            else ModelPlan("gguf", str(path.parent), path.name, True)
        )
        return [Check("model", "pass", f"{_tilde(path)} ({fmt_bytes(path.stat().st_size)}), {state}")], plan
    if path.is_dir():
        if cfg.gguf_file:
            g = path / cfg.gguf_file
            if not g.is_file():
                return [
                    Check("model", "fail", f"{_tilde(g)} does not exist", "fix [model] gguf_file")
                ], ModelPlan("missing")
            return [Check("model", "pass", f"{_tilde(g)} (GGUF)")], ModelPlan("gguf", str(path), g.name, True)
        if not (path / "config.json").is_file():
            return [
                Check(
                    "model",
                    "fail",
                    f"{_tilde(path)} has no config.json",
                    "point [model] id at a folder written by save_pretrained",
                )
            ], ModelPlan("missing")
        ok, what = _weights_present(path)
        return (
            [
                Check(
                    "model",
                    "pass" if ok else "warn",
                    f"local folder {_tilde(path)} ({what})",
                    "" if ok else "copy the weight files into the folder",
                )
            ],
            ModelPlan("local", str(path), local=True),
        )
    if cfg.id.startswith((".", "/", "~")):
        return [
            Check("model", "fail", f"model folder {cfg.id!r} does not exist", "fix [model] id")
        ], ModelPlan("missing")
    check, plan = _check_hub_model(cfg.id, cfg.revision, ctx, "model")
    return [check], plan


def _source_label(src: Any) -> str:
    from core.data.sources import source_name

    try:
        return f"data: {source_name(src)}"
    except Exception:  # noqa: BLE001
        return f"data: {src.kind}"


def check_sources(preset: Any, base_dir: Path, ctx: PresetContext) -> list[Check]:
    from core.data.sources import bundled_dataset_path, resolve_path

    out: list[Check] = []
    for src in preset.data.sources:
        label = _source_label(src)
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
                out.append(Check(label, "pass", f"{_tilde(p)} ({fmt_bytes(p.stat().st_size)})"))
            else:
                out.append(
                    Check(
                        label,
                        "fail",
                        f"{src.path} does not exist (looked in the working directory and {_tilde(base_dir)})",
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
    pkg = next(p for p in PACKAGES if p.dist == "bitsandbytes")
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
        except Exception as e:  # noqa: BLE001
            return Check(
                "bitsandbytes",
                ctx.here,
                f"{version} does not import: {_first_line(e)}",
                "reinstall bitsandbytes for this CUDA/torch (`pip install -U bitsandbytes`)",
            )
    note = " (CPU backend: slow, meant for CUDA)" if dev == "cpu" else ""
    return Check(
        "bitsandbytes", "pass", f"{version} on {dev} ({why}){note}" + (", imports" if ctx.full else "")
    )


def check_xla(preset: Any, ctx: PresetContext) -> Check | None:
    if preset.model.device != "xla":
        return None
    pkg = next(p for p in PACKAGES if p.dist == "torch_xla")
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


# --- --full: tokenizer/config, Hub info, one streamed row -----------------------------------


def _load_tokenizer_config(plan: ModelPlan, trust_remote_code: bool) -> str:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoConfig, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    kw: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if plan.gguf_file:
        kw["gguf_file"] = plan.gguf_file
    if plan.hub_id:
        kw["local_files_only"] = True
        if plan.revision:
            kw["revision"] = plan.revision
    tok = AutoTokenizer.from_pretrained(plan.location, **kw)
    if plan.kind == "scratch":
        return f"tokenizer {type(tok).__name__}, vocab {len(tok)}"
    config = AutoConfig.from_pretrained(plan.location, **kw)
    layers = getattr(config, "num_hidden_layers", None)
    hidden = getattr(config, "hidden_size", None)
    ctx_len = getattr(config, "max_position_embeddings", None)
    return (
        f"{config.model_type}: {layers} layers, hidden {hidden}, context {ctx_len}; "
        f"tokenizer {type(tok).__name__}, vocab {len(tok)}"
    )


def full_model_checks(preset: Any, plan: ModelPlan, ctx: PresetContext) -> list[Check]:
    out: list[Check] = []
    name = "tokenizer + config"
    if plan.kind == "scratch" and not plan.location:
        out.append(
            Check(name, "skip", "from-scratch model: its tokenizer is trained at the start of the run")
        )
    elif plan.kind == "missing" or not plan.location:
        out.append(Check(name, "skip", "the model is not available (see model)"))
    elif not plan.local:
        out.append(
            Check(name, "skip", "not in the local cache (see model); weights are never downloaded by doctor")
        )
    else:
        t = time.perf_counter()
        try:
            text = run_with_timeout(
                lambda: _load_tokenizer_config(plan, preset.model.trust_remote_code), ctx.timeout
            )
            out.append(Check(name, "pass", f"{text} ({time.perf_counter() - t:.1f} s)"))
        except TimeoutError as e:
            out.append(Check(name, "warn", f"loading did not finish: {e}"))
        except Exception as e:  # noqa: BLE001
            out.append(
                Check(
                    name,
                    "fail",
                    f"cannot load: {type(e).__name__}: {_first_line(e)}",
                    "re-download the model (`huggingface-cli download`) or fix [model] id",
                )
            )
    if plan.hub_id and ctx.hub.reachable:
        out.append(_hub_info_check("Hub model info", plan.hub_id, "model", plan.revision, ctx))
    return out


def hub_queries_skipped(preset: Any, plan: ModelPlan, ctx: PresetContext) -> Check | None:
    """Offline, one 'skip' line naming the Hub queries --full would have made for this preset."""
    if ctx.hub.reachable:
        return None
    hub_sources = [s for s in preset.data.sources if s.kind == "hub"]
    parts = [f"model info ({plan.hub_id})"] if plan.hub_id else []
    if hub_sources:
        parts.append(f"dataset info ×{len(hub_sources)}")
    streams = sum(1 for s in hub_sources if s.streaming)
    if streams:
        parts.append(f"one streamed row ×{streams}")
    if not parts:
        return None
    return Check("Hub queries", "skip", f"{', '.join(parts)}: not run, {ctx.hub.why}")


def _hub_info_check(
    label: str, repo_id: str, repo_type: str, revision: str | None, ctx: PresetContext
) -> Check:
    def call() -> Any:
        from huggingface_hub import HfApi

        api = HfApi()
        t = min(ctx.timeout, 20.0)
        if repo_type == "dataset":
            return api.dataset_info(repo_id, revision=revision, timeout=t)
        return api.model_info(repo_id, revision=revision, timeout=t)

    try:
        info = run_with_timeout(call, ctx.timeout)
    except TimeoutError as e:
        return Check(label, "warn", f"{repo_id}: {e}", "try again, or check the network")
    except Exception as e:  # noqa: BLE001
        kind = type(e).__name__
        if kind == "GatedRepoError":
            return Check(
                label,
                ctx.here,
                f"{repo_id} is gated: access not granted to this token",
                "accept the terms on its Hub page and log in (`hf auth login` or HF_TOKEN)",
            )
        if kind in ("RepositoryNotFoundError", "RevisionNotFoundError"):
            return Check(
                label, "fail", f"{repo_id}: not found on the Hub ({kind})", "check the id (and revision)"
            )
        return Check(label, "warn", f"{repo_id}: {kind}: {_first_line(e)}")
    bits = [f"found (sha {str(getattr(info, 'sha', '') or '')[:7]})"]
    gated = getattr(info, "gated", False)
    if gated:
        bits.append(f"gated ({gated}): needs a token with access")
    st = getattr(info, "safetensors", None)
    total = getattr(st, "total", None) if st is not None else None
    if total:
        bits.append(f"{total / 1e9:.2f} B parameters")
    return Check(
        label,
        "warn" if gated else "pass",
        f"{repo_id}: " + ", ".join(bits),
        "log in with a token that has access (`hf auth login`)" if gated else "",
    )


def _stream_one(preset: Any, src: Any) -> str:
    if preset.data.task == "text" or src.text_field:
        from core.data.hub import iter_text_corpus

        it = iter_text_corpus(src.id, src.config, src.split, src.text_field or "text", streaming=True)
        first = next(iter(it), None)
        if first is None:
            raise RuntimeError("the stream yielded no text")
        return f"first row: {len(first)} characters"
    from core.data.hub import load_hub_source

    stream = load_hub_source(
        src.id,
        config=src.config,
        split=src.split,
        instruction_field=src.instruction_field,
        command_field=src.command_field,
        category_field=src.category_field,
        streaming=True,
    )
    got = stream.collect(limit=1)
    if not got.examples:
        raise RuntimeError("the stream yielded no usable row")
    ex = got.examples[0]
    return f"first row: {ex.instruction[:40]!r} → {ex.command[:40]!r}"


def full_source_checks(preset: Any, ctx: PresetContext) -> list[Check]:
    out: list[Check] = []
    for src in preset.data.sources:
        if src.kind != "hub":
            continue
        label = _source_label(src).removeprefix("data: ")
        if not ctx.hub.reachable:
            continue  # one line for all of them: hub_queries_skipped
        out.append(_hub_info_check(f"Hub dataset info: {label}", src.id, "dataset", None, ctx))
        if src.streaming:
            t = time.perf_counter()
            try:
                text = run_with_timeout(lambda src=src: _stream_one(preset, src), ctx.timeout)
                out.append(
                    Check(
                        f"stream 1 row: {label}",
                        "pass",
                        f"{src.id}: {text} ({time.perf_counter() - t:.1f} s)",
                    )
                )
            except TimeoutError as e:
                out.append(
                    Check(
                        f"stream 1 row: {label}", "warn", f"{src.id}: {e}", "check the network, or try again"
                    )
                )
            except TunerError as e:
                out.append(Check(f"stream 1 row: {label}", ctx.here, f"{src.id}: {e.message}", e.hint))
            except Exception as e:  # noqa: BLE001
                out.append(
                    Check(
                        f"stream 1 row: {label}", ctx.here, f"{src.id}: {type(e).__name__}: {_first_line(e)}"
                    )
                )
    return out


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


# ---------------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

GLYPHS = {"pass": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red"), "skip": ("–", "dim")}


def render_report(console: Any, report: DoctorReport) -> None:
    """A table grouped by section (✓ pass, ! warning, ✗ failure, – skipped), then the summary line."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(width=1, no_wrap=True)
    table.add_column(max_width=30, overflow="fold")
    table.add_column(overflow="fold", ratio=1)
    for i, section in enumerate(report.sections()):
        if i:
            table.add_row("", "", "")
        table.add_row("", f"[bold underline]{escape(section)}[/]", "")
        for c in report.checks:
            if c.section != section:
                continue
            glyph, color = GLYPHS[c.status]
            detail = escape(c.detail)
            if c.status == "skip":
                detail = f"[dim]{detail}[/]"
            if c.fix and c.status in ("warn", "fail"):
                detail += f"\n[{color}]→ {escape(c.fix)}[/]"
            table.add_row(f"[{color}]{glyph}[/]", escape(c.name), detail)
    console.print(table)
    n = report.counts()
    color = "red" if n["fail"] else ("yellow" if n["warn"] else "green")
    console.print()
    console.print(
        f"[bold {color}]{report.summary_line()}[/] [dim]({n['skip']} skipped; {report.mode} check in "
        f"{report.elapsed_s:.1f} s)[/]"
    )
