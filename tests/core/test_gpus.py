"""core.gpus: the one GPU detection — nvidia-smi without torch, and what torch sees — and its users."""

from __future__ import annotations

import sys

import pytest

from core import gpus
from core.estimate import machine
from core.units import GiB

SMI = "NVIDIA A100-SXM4-40GB, 40960\nNVIDIA A100-SXM4-40GB, 40960\n"


@pytest.fixture
def fake_smi(tmp_path, monkeypatch):
    """An nvidia-smi on PATH that prints `SMI`; the detection caches are cleared around the test."""
    exe = tmp_path / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\nprintf '{SMI}'\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    gpus.driver_gpus.cache_clear()
    machine.detected_kind.cache_clear()
    yield exe
    gpus.driver_gpus.cache_clear()
    machine.detected_kind.cache_clear()


def test_parse_nvidia_smi():
    found = gpus.parse_nvidia_smi(SMI)
    assert found == (
        gpus.Gpu(0, "NVIDIA A100-SXM4-40GB", 40 * GiB),
        gpus.Gpu(1, "NVIDIA A100-SXM4-40GB", 40 * GiB),
    )
    assert gpus.parse_nvidia_smi("") == ()
    assert gpus.parse_nvidia_smi("No devices were found") == ()
    assert gpus.parse_nvidia_smi("T4, [N/A]") == ()  # unreadable: as if there were none


def test_driver_gpus_feed_the_torch_free_estimate(fake_smi):
    assert gpus.driver_present()
    assert [g.name for g in gpus.driver_gpus()] == ["NVIDIA A100-SXM4-40GB"] * 2
    assert machine.detected_kind() == "cuda"
    assert machine.detected_memory() == ("NVIDIA A100-SXM4-40GB (GPU 0 of 2)", 40 * GiB)
    assert machine.guess_device() == "cuda" and machine.guess_device("cpu") == "cpu"


def test_failing_nvidia_smi_means_no_gpu(fake_smi):
    fake_smi.write_text("#!/bin/sh\nexit 9\n")
    assert gpus.driver_gpus() == ()
    assert gpus.driver_present()  # the driver is there, even if it does not answer


def test_torch_view_on_this_machine(monkeypatch):
    torch = pytest.importorskip("torch")
    count = gpus.torch_gpu_count()
    assert count == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    if count:
        gpu = gpus.torch_gpu(0)
        assert gpu.memory_bytes > 0 and gpu.capability == gpus.cuda_capability(0)
    else:
        assert gpus.cuda_capability() is None
    monkeypatch.delitem(sys.modules, "torch")  # as in a process that has not imported torch yet
    assert gpus.torch_gpu_count(import_torch=False) is None
    assert "torch" not in sys.modules
