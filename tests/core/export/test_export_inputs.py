"""`tuner export` refuses bad input in one line and leaves nothing behind; adapter and full fine-tune exports."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from core.cli import main

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv) -> str:
    """Run the CLI, expect exit code 2 with one error line and no traceback; return that line."""
    code, _, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    return lines[0]


def no_export_left(run_dir) -> bool:
    exports = run_dir / "exports"
    return not exports.exists() or not any(exports.iterdir())


@pytest.fixture
def run_dir(tmp_path, tiny_run):
    return tiny_run.copy(tmp_path)


def test_run_without_adapter_is_refused(capsys, tmp_path, tiny_run):
    run_dir = tiny_run.copy(tmp_path, adapter=False)
    assert "has no adapter yet" in refused(capsys, "export", run_dir)
    assert no_export_left(run_dir)


def test_incomplete_checkpoint_is_refused(capsys, run_dir):
    shutil.copytree(run_dir / "adapter", run_dir / "checkpoints" / "checkpoint-5")  # no COMPLETE marker
    assert "incomplete" in refused(capsys, "export", run_dir, "--checkpoint", "5")
    assert no_export_left(run_dir)


def test_missing_base_model_is_refused(capsys, run_dir, tmp_path):
    preset = run_dir / "preset.toml"
    preset.write_text(preset.read_text().replace(str(tmp_path.parent), "/nonexistent"))
    line = refused(capsys, "export", run_dir, "--no-verify")
    assert "does not exist" in line and "model" in line
    assert no_export_left(run_dir)


def test_bad_flag_combinations_are_refused(capsys, run_dir):
    assert "--ollama needs --format gguf" in refused(capsys, "export", run_dir, "--ollama")
    assert "--quant 'q4_k_m' is not a dtype" in refused(capsys, "export", run_dir, "--quant", "q4_k_m")
    assert "does not apply" in refused(capsys, "export", run_dir, "--format", "adapter", "--quant", "bf16")
    assert no_export_left(run_dir)


def test_adapter_export_is_the_runs_adapter_plus_tokenizer(capsys, run_dir):
    (run_dir / "adapter" / "training_args.bin").write_bytes(b"x")  # trainer.save_model writes it: not copied
    code, _, err = run_cli(capsys, "export", run_dir, "--format", "adapter")
    assert code == 0, err
    folder = run_dir / "exports" / "adapter"
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        digest = [hashlib.sha256((d / name).read_bytes()).hexdigest() for d in (folder, run_dir / "adapter")]
        assert digest[0] == digest[1]
    assert (folder / "tokenizer.json").is_file() and not (folder / "training_args.bin").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "adapter" and manifest["verification"]["ok"]
    assert manifest["stop_tokens"][0] == "<|im_end|>"


def test_full_finetune_exports_merged_and_refuses_adapter(capsys, run_dir, tiny_run):
    from transformers import AutoModelForCausalLM

    shutil.rmtree(run_dir / "adapter")
    shutil.copytree(tiny_run.model_dir, run_dir / "adapter")  # train.adapter = "full" saves the whole model
    preset = run_dir / "preset.toml"
    preset.write_text(preset.read_text().replace('adapter = "lora"', 'adapter = "full"'))
    assert "full fine-tune" in refused(capsys, "export", run_dir, "--format", "adapter")

    code, out, err = run_cli(capsys, "export", run_dir)
    assert code == 0, err
    assert "full fine-tune saved in float32" in out and "matches the run" in out
    folder = run_dir / "exports" / "merged"
    assert json.loads((folder / "manifest.json").read_text())["run"]["adapter"] == "full"
    AutoModelForCausalLM.from_pretrained(folder)


@pytest.mark.slow
def test_disk_full_mid_export_leaves_nothing(run_dir):
    """A file-size limit makes the weights write fail as a full disk does (EFBIG): one line, no export."""
    import subprocess
    import sys

    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))\n"
        "from core.cli import main\n"
        f"sys.exit(main(['export', {str(run_dir)!r}, '--no-verify']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "disk full while writing the export" in lines[-1] and "Traceback" not in proc.stderr
    assert no_export_left(run_dir)
