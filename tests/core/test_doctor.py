"""`tuner doctor`: quick mode is fast and covers every shipped preset, cache checks, missing
packages, offline hints, --full offline/online paths (Hub calls faked), JSON output, exit codes."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest

from core import doctor
from core.cli import main
from core.config.loader import list_presets
from core.config.schema import Preset
from core.doctor import full as doctor_full
from core.doctor import system as doctor_system
from core.units import GiB

HUB_MODEL = "EleutherAI/pythia-1.4b"


@pytest.fixture
def env(isolated_cache, tmp_path, monkeypatch):
    """An empty Hugging Face cache, no offline flags, no user presets, runs in tmp."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for var in (
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_DATASETS_CACHE",
        "HF_HUB_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "PJRT_DEVICE",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def hub(monkeypatch):
    """Decide what the single Hub probe answers (default: unreachable); counts the probes."""
    import core.data.hub as hub_mod

    state = {"reachable": False, "probes": 0}

    def fake(timeout=None, *, refresh=False):
        state["probes"] += 1
        return state["reachable"]

    monkeypatch.setattr(hub_mod, "hub_reachable", fake)
    return state


def by_name(report, section, name):
    found = [c for c in report.checks if c.section == section and c.name == name]
    assert found, f"no check {section!r} / {name!r} in {[(c.section, c.name) for c in report.checks]}"
    return found[0]


def fake_model_cache(root: Path, repo_id: str, files: dict[str, str], commit: str = "a" * 40) -> Path:
    """The hub cache layout huggingface_hub writes: refs/main → snapshots/<commit>/files."""
    repo = root / "hub" / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for name, text in files.items():
        (snap / name).write_text(text)
    return snap


# ------------------------------------------------------------------------------------ quick mode


def test_quick_covers_every_shipped_preset(env, monkeypatch):
    monkeypatch.setenv("TUNER_HUB_PROBE_TIMEOUT", "2")  # the real probe: answers or fails within 2 s
    report = doctor.run_doctor()
    assert report.mode == "quick"
    shipped = [pf.name for pf in list_presets() if pf.shipped]
    assert len(shipped) >= 5
    sections = report.sections()
    for name in shipped:
        assert f"preset {name}" in sections
        names = {c.name for c in report.checks if c.section == f"preset {name}"}
        assert "model" in names and ({"device", "device: xla"} & names), (name, names)
    for section in (
        "system",
        "packages",
        "torch & devices",
        "memory & disk",
        "Hugging Face Hub",
        "embedded model",
    ):
        assert section in sections
    assert next(c.name for c in report.checks if c.section == "Hugging Face Hub") == "Hub"
    assert all(c.status in doctor.STATUSES for c in report.checks)
    # quick mode never loads a model: no tokenizer/config/Hub queries
    assert not any(c.name in ("tokenizer + config", "Hub queries", "Hub model info") for c in report.checks)


def test_quick_loads_no_model_library(env, monkeypatch):
    """Quick mode reads metadata and caches only: torch for the device checks, never transformers & co.

    (Its wall-clock time is measured by bench/doctor_speed.py, not asserted here.)"""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no probe: nothing but local state
    code = (
        "import sys; from core.doctor import run_doctor; r = run_doctor(); "
        "print(r.mode, [m for m in ('transformers', 'datasets', 'peft', 'bitsandbytes', 'tokenizers') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["quick", "[]"], out.stdout


def test_hf_cache_paths_follow_the_environment_at_call_time(env, monkeypatch):
    import huggingface_hub.constants  # read HF_HOME once, at import: before the change below

    monkeypatch.setenv("HF_HOME", str(env / "later"))
    assert str(env / "later") != huggingface_hub.constants.HF_HOME  # the library's copy is stale
    assert doctor.hf_home() == env / "later" and doctor.hf_hub_cache() == env / "later" / "hub"
    assert doctor.hf_datasets_cache() == env / "later" / "datasets"
    assert str(env / "later") in doctor.download_hint("a/b")
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(env / "legacy"))
    assert doctor.hf_hub_cache() == env / "legacy"
    monkeypatch.setenv("HF_HUB_CACHE", str(env / "hub2"))
    assert doctor.hf_hub_cache() == env / "hub2"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(env / "ds"))
    assert doctor.hf_datasets_cache() == env / "ds"


def test_single_hub_probe(env, hub):
    doctor.run_doctor(["quickstart", "pythia"])
    assert hub["probes"] == 1


def test_embedded_model_checks_pass(env, hub):
    report = doctor.run_doctor(["quickstart"])
    embedded = [c for c in report.checks if c.section == "embedded model"]
    assert [c.name for c in embedded] == ["GGUF file", "converted copy"]
    assert all(c.status == "pass" for c in embedded), embedded
    assert by_name(report, "preset quickstart", "model").status == "pass"
    assert by_name(report, "preset quickstart", "data: bundled").status == "pass"
    assert by_name(report, "preset quickstart", "device").status == "pass"
    assert report.exit_code == 0, [c for c in report.checks if c.status == "fail"]


def test_uncached_hub_model_offline_gives_the_download_hint(env, hub):
    report = doctor.run_doctor(["pythia"])  # named: not runnable here is a failure
    model = by_name(report, "preset pythia", "model")
    assert model.status == "fail"
    assert "not in the local cache" in model.detail and "unreachable" in model.detail
    assert f"huggingface-cli download {HUB_MODEL}" in model.fix
    assert "on a machine with internet" in model.fix and "HF_HOME" in model.fix
    data = by_name(report, "preset pythia", "data: pile")
    assert data.status == "fail" and "--repo-type dataset EleutherAI/pile" in data.fix
    assert report.exit_code == 1

    everything = doctor.run_doctor()  # not named: the same problem is a warning
    assert by_name(everything, "preset pythia", "model").status == "warn"


def test_uncached_hub_model_online_is_a_warning(env, hub):
    hub["reachable"] = True
    report = doctor.run_doctor(["pythia"])
    model = by_name(report, "preset pythia", "model")
    assert model.status == "warn" and "first run downloads it" in model.detail
    assert by_name(report, "preset pythia", "data: pile").status == "pass"  # streamed during the run
    assert by_name(report, "Hugging Face Hub", "Hub").status == "pass"


def test_offline_env_skips_the_probe(env, hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    report = doctor.run_doctor(["pythia"])
    assert hub["probes"] == 0
    assert by_name(report, "Hugging Face Hub", "Hub").status == "skip"
    assert "HF_HUB_OFFLINE is set" in by_name(report, "preset pythia", "model").detail


def test_cached_hub_model_and_dataset_pass(env, hub):
    fake_model_cache(env / "hf", HUB_MODEL, {"config.json": "{}", "model.safetensors": "x"})
    ds = env / "hf" / "hub" / "datasets--EleutherAI--pile" / "snapshots" / ("b" * 40)
    ds.mkdir(parents=True)
    (ds / "README.md").write_text("x")
    report = doctor.run_doctor(["pythia"])
    model = by_name(report, "preset pythia", "model")
    assert model.status == "pass" and "cached at" in model.detail and "model.safetensors" in model.detail
    assert by_name(report, "preset pythia", "data: pile").status == "pass"
    assert report.exit_code == 0, [c for c in report.checks if c.status == "fail"]


def test_model_cache_status_config_without_weights(env):
    fake_model_cache(
        env / "hf",
        HUB_MODEL,
        {
            "config.json": "{}",
            "model.safetensors.index.json": json.dumps({"weight_map": {"a": "model-1.safetensors"}}),
        },
    )
    st = doctor.model_cache_status(HUB_MODEL)
    assert st.cached and not st.complete and "1 of 1 weight shards missing" in st.detail
    assert not doctor.model_cache_status("Qwen/Qwen2.5-Coder-7B-Instruct").cached


def test_prepared_dataset_copy_counts_as_cached(env):
    (env / "hf" / "datasets" / "roneneldan___tiny_stories" / "default" / "0.0.0" / "abc").mkdir(parents=True)
    assert doctor.dataset_cache_status("roneneldan/TinyStories")[0]
    assert not doctor.dataset_cache_status("EleutherAI/pile")[0]


def test_local_file_source_and_unknown_preset(env, hub, tmp_path):
    presets = tmp_path / "user-presets"
    presets.mkdir()
    (presets / "mine.toml").write_text(
        'name = "mine"\n[[data.sources]]\nkind = "file"\npath = "nope.jsonl"\n'
    )
    report = doctor.run_doctor(["mine", "nosuch"])
    src = by_name(report, "preset mine", "data: nope")
    assert src.status == "fail" and "does not exist" in src.detail
    unknown = by_name(report, "preset nosuch", "preset")
    assert unknown.status == "fail" and "no preset named" in unknown.detail
    (presets / "nope.jsonl").write_text('{"instruction": "x", "command": "ls"}\n')
    assert by_name(doctor.run_doctor(["mine"]), "preset mine", "data: nope").status == "pass"


# ------------------------------------------------------------------------------------ packages


def test_missing_required_package_fails_with_pip_hint(monkeypatch):
    real_version = importlib.metadata.version

    def version(name):
        if name == "peft":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    checks = {c.name: c for c in doctor.check_packages()}
    assert checks["peft"].status == "fail"
    assert "pip install 'peft>=0.12'" in checks["peft"].fix
    assert checks["transformers"].status == "pass"


def test_package_without_module_counts_as_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bashlex" else real(name, *a)
    )
    checks = {c.name: c for c in doctor.check_packages()}
    assert checks["bashlex"].status == "fail" and "pip install 'bashlex>=0.18'" in checks["bashlex"].fix


def test_old_and_optional_packages(monkeypatch):
    real_version = importlib.metadata.version

    def version(name):
        if name == "transformers":
            return "4.30.0"
        if name in ("bitsandbytes", "torch_xla"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    checks = {c.name: c for c in doctor.check_packages()}
    assert (
        checks["transformers"].status == "fail"
        and "pip install -U 'transformers>=4.45'" in checks["transformers"].fix
    )
    assert checks["bitsandbytes"].status == "skip" and checks["torch_xla"].status == "skip"
    needed = {c.name: c for c in doctor.check_packages(needs_bnb=True, wants_xla=True)}
    assert needed["bitsandbytes"].status == "warn" and "bitsandbytes>=0.45" in needed["bitsandbytes"].fix
    assert needed["torch_xla"].status == "warn"


def test_cli_exit_code_1_when_a_required_package_is_missing(env, hub, monkeypatch, capsys):
    real_version = importlib.metadata.version

    def version(name):
        if name == "accelerate":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert main(["doctor", "--json", "quickstart"]) == 1
    data = json.loads(capsys.readouterr().out)
    failed = [c for c in data["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failed] == ["accelerate"]
    assert data["exit_code"] == 1 and data["summary"]["fail"] == 1


# ------------------------------------------------------------------------------------ presets


def _preset(**sections) -> Preset:
    return Preset.model_validate({"name": "t", **sections})


def _ctx(*, named=True, reachable=False, full=False, timeout=5.0):
    return doctor.PresetContext(
        devices=doctor.DeviceInfo(torch_ok=True, auto="cpu"),
        hub=doctor.HubState(reachable, "" if reachable else "the Hub is unreachable"),
        named=named,
        full=full,
        timeout=timeout,
    )


def test_bitsandbytes_needed_and_usable_per_device(monkeypatch):
    qlora = _preset(quant={"bits": 4})
    assert doctor.check_bnb(_preset(), "cpu", _ctx()) is None  # not needed: no check
    cpu = doctor.check_bnb(qlora, "cpu", _ctx())
    assert cpu.status == "pass" and "CPU backend" in cpu.detail
    assert doctor.check_bnb(qlora, "cuda", _ctx()).status == "pass"
    assert doctor.check_bnb(qlora, "mps", _ctx()).status == "fail"
    assert doctor.check_bnb(qlora, None, _ctx()).status == "skip"  # the device itself is missing
    eight_bit = _preset(train={"optimizer": "paged_adamw_8bit"})
    assert "paged_adamw_8bit" in doctor.check_bnb(eight_bit, "cpu", _ctx()).detail
    real_version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda n: (
            (_ for _ in ()).throw(importlib.metadata.PackageNotFoundError(n))
            if n == "bitsandbytes"
            else real_version(n)
        ),
    )
    missing = doctor.check_bnb(qlora, "cpu", _ctx())
    assert missing.status == "fail" and "pip install 'bitsandbytes>=0.45'" in missing.fix
    assert doctor.check_bnb(qlora, "cpu", _ctx(named=False)).status == "warn"


def test_xla_preset_needs_torch_xla_and_pjrt(env, hub, monkeypatch):
    report = doctor.run_doctor(["tpu-lora"])  # PJRT_DEVICE unset (env): not runnable here either way
    xla = by_name(report, "preset tpu-lora", "device: xla")
    assert xla.status == "fail" and "PJRT_DEVICE=TPU" in xla.fix
    assert report.exit_code == 1
    pkg = by_name(report, "packages", "torch_xla")
    if importlib.util.find_spec("torch_xla") is None:
        assert "torch_xla" in xla.detail and "pip install" in xla.fix
        assert pkg.status == "warn"  # a named preset needs it
    else:
        assert "PJRT_DEVICE is unset" in xla.detail
        assert pkg.status == "pass"


def test_check_xla_with_torch_xla_installed_or_not(monkeypatch):
    import importlib.machinery

    real_version, real_find = importlib.metadata.version, importlib.util.find_spec
    fake = {"torch_xla": True}  # is the fake torch_xla 2.9.0 installed?

    def version(name):
        if name != "torch_xla":
            return real_version(name)
        if not fake["torch_xla"]:
            raise importlib.metadata.PackageNotFoundError(name)
        return "2.9.0"

    def find_spec(name, *a):
        if name != "torch_xla":
            return real_find(name, *a)
        return importlib.machinery.ModuleSpec(name, None) if fake["torch_xla"] else None

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    tpu = _preset(model={"device": "xla"})
    assert doctor.check_xla(_preset(), _ctx()) is None  # not an XLA preset: no check
    monkeypatch.delenv("PJRT_DEVICE", raising=False)
    unset = doctor.check_xla(tpu, _ctx())
    assert unset.status == "fail" and "2.9.0 installed but PJRT_DEVICE is unset" in unset.detail
    assert doctor.check_xla(tpu, _ctx(named=False)).status == "warn"
    monkeypatch.setenv("PJRT_DEVICE", "TPU")
    ok = doctor.check_xla(tpu, _ctx())
    assert ok.status == "pass" and ok.detail == "torch_xla 2.9.0, PJRT_DEVICE=TPU"
    fake["torch_xla"] = False
    missing = doctor.check_xla(tpu, _ctx())
    assert missing.status == "fail" and "not installed" in missing.detail and "torch_xla[tpu]" in missing.fix


def test_cuda_lines_come_from_core_gpus(monkeypatch):
    """What torch sees, one line per GPU (free memory from NVML); the driver alone flags a CPU-only wheel."""
    pytest.importorskip("torch")
    import core.sysinfo
    from core import gpus
    from core.doctor import devices

    def torch_gpu(i):
        if i == 1:
            raise RuntimeError("CUDA error: unknown error\nmore")
        return gpus.Gpu(0, "NVIDIA A100-SXM4-40GB", 40 * GiB, (8, 0))

    monkeypatch.setattr(devices, "torch_gpu_count", lambda: 2)
    monkeypatch.setattr(devices, "torch_gpu", torch_gpu)
    monkeypatch.setattr(core.sysinfo, "gpu_free_memory", lambda i: 39 * GiB)
    monkeypatch.setattr(devices, "driver_present", lambda: True)
    checks, info = devices.check_torch()
    by = {c.name: c for c in checks}
    assert info.cuda and "CUDA" not in by
    assert by["CUDA GPU 0"].status == "pass"
    assert by["CUDA GPU 0"].detail == "NVIDIA A100-SXM4-40GB, 40.0 GiB (39.0 GiB free), compute 8.0, bf16"
    assert by["CUDA GPU 1"].status == "warn" and by["CUDA GPU 1"].detail.endswith("CUDA error: unknown error")
    import torch

    if not torch.version.cuda and not getattr(torch.version, "hip", None):  # this CPU-only wheel
        assert by["torch build"].status == "warn" and "NVIDIA driver is present" in by["torch build"].detail
    monkeypatch.setattr(devices, "torch_gpu_count", lambda: 0)
    monkeypatch.setattr(devices, "driver_present", lambda: False)
    checks, info = devices.check_torch()
    by = {c.name: c for c in checks}
    assert not info.cuda and by["CUDA"].status == "skip" and by["torch build"].status == "pass"


def test_disk_thresholds(monkeypatch, tmp_path):
    Usage = namedtuple("Usage", "total used free")
    for free, status in ((50 * GiB, "pass"), (10 * GiB, "warn"), (1 * GiB, "fail")):
        monkeypatch.setattr(
            doctor_system.shutil, "disk_usage", lambda p, free=free: Usage(100 * GiB, 0, free)
        )
        check = doctor.check_disk("runs", tmp_path / "not" / "yet")
        assert check.status == status, (free, check)
        assert "not created yet" in check.detail
        assert f"{free / GiB:.1f} GiB free of 100.0 GiB" in check.detail  # binary units, as everywhere
        if status != "pass":
            assert "TUNER_RUNS_DIR" in check.fix


# ------------------------------------------------------------------------------------ --full


def test_full_offline_loads_local_tokenizer_and_skips_hub_queries(env, hub):
    report = doctor.run_doctor(["quickstart", "pythia"], full=True)
    assert report.mode == "full"
    tok = by_name(report, "preset quickstart", "tokenizer + config")
    assert tok.status == "pass" and "llama" in tok.detail and "vocab" in tok.detail
    assert by_name(report, "preset pythia", "tokenizer + config").status == "skip"
    skipped = by_name(report, "preset pythia", "Hub queries")
    assert skipped.status == "skip" and "unreachable" in skipped.detail and HUB_MODEL in skipped.detail


def test_full_online_hub_info_and_stream_one_row(monkeypatch):
    import huggingface_hub

    import core.data.hub as hub_mod

    class Info:
        sha = "0123456789abcdef"
        gated = False
        safetensors = namedtuple("ST", "total")(1_414_647_808)

    calls = []

    class FakeApi:
        def model_info(self, repo_id, revision=None, timeout=None):
            calls.append(("model", repo_id, timeout))
            return Info()

        def dataset_info(self, repo_id, revision=None, timeout=None):
            calls.append(("dataset", repo_id, timeout))
            return Info()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(hub_mod, "iter_text_corpus", lambda *a, **k: iter(["hello world"]))
    preset = Preset.model_validate(
        {
            "name": "p",
            "model": {"id": HUB_MODEL},
            "data": {
                "task": "text",
                "sources": [{"kind": "hub", "id": "EleutherAI/pile", "split": "train", "streaming": True}],
            },
        }
    )
    ctx = _ctx(reachable=True, full=True)
    plan = doctor.ModelPlan("hub", HUB_MODEL, local=False, hub_id=HUB_MODEL)
    model_checks = doctor.full_model_checks(preset, plan, ctx)
    assert [c.name for c in model_checks] == ["tokenizer + config", "Hub model info"]
    assert model_checks[1].status == "pass" and "1.41 B parameters" in model_checks[1].detail
    src_checks = doctor.full_source_checks(preset, ctx)
    assert [c.status for c in src_checks] == ["pass", "pass"]
    assert "first row: 11 characters" in src_checks[1].detail
    assert {c[0] for c in calls} == {"model", "dataset"} and all(c[2] for c in calls)
    assert doctor.hub_queries_skipped(preset, plan, ctx) is None

    # an instruct source streams through stream_hub_source: one normalized row
    row = namedtuple("Row", "instruction command")("list files", "ls -la")

    class Stream:
        def collect(self, limit=None):
            return namedtuple("Got", "examples")([row][:limit])

    monkeypatch.setattr(hub_mod, "stream_hub_source", lambda hub_id, **kw: Stream())
    instruct = Preset.model_validate(
        {"name": "i", "data": {"sources": [{"kind": "hub", "id": "x/y", "streaming": True}]}}
    )
    streamed = doctor.full_source_checks(instruct, ctx)[-1]
    assert streamed.status == "pass" and "first row: 'list files' → 'ls -la'" in streamed.detail


def test_full_hub_errors_and_timeouts(monkeypatch):
    import huggingface_hub

    import core.data.hub as hub_mod

    class GatedRepoError(Exception):
        pass

    class FakeApi:
        def model_info(self, repo_id, revision=None, timeout=None):
            raise GatedRepoError("403")

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)

    def slow(*a, **k):
        time.sleep(5)
        return iter(["late"])

    monkeypatch.setattr(hub_mod, "iter_text_corpus", slow)
    ctx = _ctx(reachable=True, full=True, timeout=0.2)
    gated = doctor_full._hub_info_check("Hub model info", "meta/llama", "model", None, ctx)
    assert gated.status == "fail" and "gated" in gated.detail and "log in" in gated.fix
    preset = Preset.model_validate(
        {"name": "p", "data": {"task": "text", "sources": [{"kind": "hub", "id": "x/y", "streaming": True}]}}
    )
    monkeypatch.setattr(doctor_full, "_hub_info_check", lambda *a: doctor.Check("Hub dataset info", "pass"))
    started = time.perf_counter()
    checks = doctor.full_source_checks(preset, ctx)
    assert time.perf_counter() - started < 2
    assert checks[-1].status == "warn" and "no answer within 0.2 s" in checks[-1].detail


# ------------------------------------------------------------------------------------ CLI


def test_cli_json_parses_and_exit_codes(env, hub, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # no wrapping inside the hint
    assert main(["doctor", "--json", "quickstart"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "quick" and data["presets"] == ["quickstart"] and data["exit_code"] == 0
    assert set(data["summary"]) == {"pass", "warn", "fail", "skip"}
    assert {"name", "status", "detail", "fix", "section"} <= set(data["checks"][0])
    assert main(["doctor", "--quick", "pythia"]) == 1  # offline, not cached, named
    out = capsys.readouterr().out
    assert "✗" in out and "huggingface-cli download EleutherAI/pythia-1.4b" in out
    assert main(["doctor", "nosuch"]) == 1
    assert main(["doctor"]) == 0  # every preset: not-runnable-here is only a warning
    out = capsys.readouterr().out.strip().splitlines()
    import re

    assert re.match(r"^\d+ passed, \d+ warnings?, 0 failed", out[-1]), out[-1]


def test_cli_quick_and_full_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        main(["doctor", "--quick", "--full"])
    capsys.readouterr()


def test_scratch_model_with_hub_tokenizer(env):
    preset = Preset.model_validate(
        {"name": "s", "model": {"id": "scratch", "scratch": {"tokenizer": "gpt2"}}}
    )
    checks, plan = doctor.check_model(preset, env, _ctx())
    assert checks[0].status == "pass" and "built from a config" in checks[0].detail
    assert checks[1].name == "tokenizer" and checks[1].status == "fail" and "download gpt2" in checks[1].fix
    fake_model_cache(env / "hf", "gpt2", {"tokenizer_config.json": "{}"})
    checks, plan = doctor.check_model(preset, env, _ctx())
    assert checks[1].status == "pass" and plan.local and plan.hub_id == "gpt2"
