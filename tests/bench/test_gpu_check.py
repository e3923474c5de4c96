"""bench/gpu_check.py in --cpu mode: the one-command GPU check keeps working between GPU loans."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "gpu_check.py"


@pytest.mark.slow
def test_cpu_mode_writes_a_report_with_real_results(tmp_path):
    out = tmp_path / "report"
    # quickstart trains and resumes; tpu-lora is refused off XLA (skipped); the unknown preset fails
    # its item, which fails the smoke section without stopping the other sections.
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--cpu",
        "--sections",
        "env,smoke,qlora",
        "--presets",
        "quickstart,tpu-lora,no-such-preset",
        "--qlora-steps",
        "3,0",
        "--out",
        str(out),
    ]
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    sections = report["sections"]
    assert list(sections) == ["env", "qlora", "smoke"] and report["mode"] == "cpu"

    import torch

    env = sections["env"]
    assert env["status"] == "passed" and env["versions"]["torch"] == torch.__version__
    assert env["versions"]["bitsandbytes"] and env["gpu_count"] == 0

    smoke = sections["smoke"]
    assert smoke["status"] == "failed" and "no-such-preset" in smoke["error"]
    quick = smoke["presets"]["quickstart"]
    assert quick["status"] == "passed", quick
    assert (
        quick["run"]["step"] > 0
        and quick["run"]["device"] == "cpu"
        and math.isfinite(quick["run"]["final_loss"])
    )
    resume = quick["resume"]
    assert (
        resume["continued"]
        and resume["first_step"] == resume["from_step"] + 1
        and resume["step"] == quick["run"]["step"] + 2
    )
    tpu = smoke["presets"]["tpu-lora"]
    assert tpu["status"] == "skipped" and "xla" in tpu["reason"]
    bad = smoke["presets"]["no-such-preset"]
    assert bad["status"] == "failed" and "no preset named" in bad["error"]

    qlora = sections["qlora"]
    assert qlora["status"] == "passed", qlora.get("error")
    assert qlora["model"]["config"]["vocab_size"] == 152064
    assert qlora["shapes"]["qwen2.5_7b_config_matches_estimator_table"]
    for run in qlora["runs"].values():
        assert run["status"] == "passed" and run["device"] == "cpu" and run["adapter"] == "qlora"
        assert run["measured_peak_bytes"] > 100 << 20 and run["estimate_bytes"] > 100 << 20
        assert run["tokens_per_s"] > 0 and run["flops_per_token"] > 0 and run["mfu"] is None
        assert math.isfinite(run["final_loss"])

    md = (out / "report.md").read_text()
    assert "| smoke: tpu-lora | skipped |" in md and "| smoke: no-such-preset | **failed** |" in md
    assert "host peak RSS" in md and "4·N + 2·N_trainable" in md
    assert md in proc.stdout  # the Markdown is printed at the end


def test_a_section_that_raises_is_reported_failed(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(ROOT / "bench"))
    blocker = tmp_path / "work"
    blocker.write_text("a file where the work folder should be")
    ctx = gpu_check.Ctx(
        cpu=True, out=tmp_path, work=blocker, presets=None, qlora_steps=(1, 1), large_budget=(256, 4)
    )
    res = gpu_check.guarded(gpu_check.sec_qlora, ctx)
    assert res["status"] == "failed" and res["seconds"] >= 0
    assert "\n" not in res["error"] and "Error" in res["error"]
