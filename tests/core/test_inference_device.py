"""Loading a QLoRA run as it was trained (4-bit base) or --no-quant, and `--device` for generate/chat/eval."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest

from core.cli import main
from core.errors import TunerError

pytestmark = pytest.mark.usefixtures("keep_torch_threads")

TARGETS = ("q_proj", "v_proj")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _build_tiny(folder: Path) -> Path:
    """tests/core/train/conftest.py's build_tiny (hidden 64: bitsandbytes' CPU 4-bit blocksize)."""
    spec = importlib.util.spec_from_file_location(
        "train_conftest", Path(__file__).parent / "train" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny(folder)


@pytest.fixture(scope="module")
def qlora_run(tmp_path_factory, tiny_run) -> Path:
    """A run whose preset has quant.bits = 4, with a LoRA adapter made on the 4-bit base as the trainer does."""
    import tomli_w
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.config.schema import Preset
    from core.models.build import quantization_config

    root = tmp_path_factory.mktemp("qlora")
    model_dir = _build_tiny(root / "tiny-llama")
    preset = Preset.model_validate(
        {
            "name": "tinyq",
            "model": {"id": str(model_dir)},
            "data": {
                "sources": [{"kind": "file", "path": str(tiny_run.source_file)}],
                "split": {"train": 0.5, "val": 0.25, "test": 0.25},
            },
            "lora": {"r": 4, "alpha": 8, "target_modules": list(TARGETS)},
            "quant": {"bits": 4},
            "eval": {"max_new_tokens": 4},
        }
    )
    run_dir = root / "runs" / "tinyq-20260101-000000"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "preset.toml").write_text(tomli_w.dumps(preset.model_dump(mode="json", exclude_none=True)))
    (run_dir / "provenance.json").write_text(
        json.dumps(
            {
                "created": 0,
                "pid": None,
                "base_model": str(model_dir),
                "data_hash": "tiny",
                "device": "cpu",
                "extra": {"data_dir": str(tiny_run.data_dir), "style": "chat", "dtype": "float32"},
            }
        )
    )
    base = AutoModelForCausalLM.from_pretrained(
        model_dir,
        dtype=torch.float32,
        device_map={"": "cpu"},
        quantization_config=quantization_config(preset),
    )
    torch.manual_seed(0)
    peft_model = get_peft_model(
        base,
        LoraConfig(
            r=4, lora_alpha=8, target_modules=list(TARGETS), task_type="CAUSAL_LM", init_lora_weights=False
        ),
    )
    peft_model.save_pretrained(run_dir / "adapter")
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(run_dir / "adapter")
    return run_dir


def _base_layers(model) -> list:
    """The layers under the LoRA wrappers of the target projections."""
    return [
        m.base_layer
        for name, m in model.named_modules()
        if name.rsplit(".", 1)[-1] in TARGETS and hasattr(m, "base_layer")
    ]


# ---------------------------------------------------------------------------------- quantization


def test_qlora_run_loads_its_base_in_4bit_on_cpu(capsys, qlora_run):
    import bitsandbytes as bnb

    from core.generate import generate_batch
    from core.run_model import load_for_inference

    loaded = load_for_inference(str(qlora_run), device="cpu")
    layers = _base_layers(loaded.model)
    assert len(layers) == 2 * len(TARGETS)  # two decoder layers
    assert all(isinstance(layer, bnb.nn.Linear4bit) for layer in layers)
    assert loaded.base_note == "base in 4-bit NF4 (as trained)" and loaded.device == "cpu"
    answer = generate_batch(
        loaded.model, loaded.tokenizer, ["list all files"], style=loaded.style, max_new_tokens=4
    )[0]
    assert answer.prompt == "list all files" and isinstance(answer.output, str)

    code, out, err = run_cli(capsys, "generate", qlora_run, "list all files", "--max-new-tokens", 4)
    assert code == 0, err
    assert "command:" in out
    assert "tinyq-20260101-000000/adapter · cpu · base in 4-bit NF4 (as trained)" in err


def test_no_quant_loads_plain_linear(capsys, monkeypatch, qlora_run):
    import torch

    from core.run_model import load_for_inference

    loaded = load_for_inference(str(qlora_run), device="cpu", quant=False)
    layers = _base_layers(loaded.model)
    assert layers and all(type(layer) is torch.nn.Linear for layer in layers)
    assert all(layer.weight.dtype == torch.float32 for layer in layers)
    assert loaded.base_note == "base unquantized (fp32, --no-quant)"

    monkeypatch.setattr("sys.stdin", io.StringIO("list all files\n"))
    code, out, err = run_cli(
        capsys, "chat", qlora_run, "--no-quant", "--device", "cpu", "--max-new-tokens", 3
    )
    assert code == 0, err
    assert out.count("command:") == 1 and "base unquantized (fp32, --no-quant)" in err


def test_eval_passes_no_quant_and_device(capsys, tmp_path, qlora_run):
    code, _out, err = run_cli(
        capsys,
        "eval",
        qlora_run,
        "--no-quant",
        "--device",
        "cpu",
        "--limit",
        1,
        "--max-new-tokens",
        2,
        "--out",
        tmp_path / "p.jsonl",
    )
    assert code == 0, err
    assert "base unquantized (fp32, --no-quant)" in err
    assert json.loads((tmp_path / "p.summary.json").read_text())["device"] == "cpu"


def test_unquantized_run_says_its_dtype(tiny_run):
    from core.run_model import load_for_inference

    loaded = load_for_inference(str(tiny_run.run_dir), device="cpu")
    assert loaded.base_note == "base fp32" and loaded.device_note is None


# ---------------------------------------------------------------------------------- --device


def _no_cuda(n: int = 1) -> bool:
    import torch

    return torch.cuda.device_count() < n


@pytest.mark.skipif(not _no_cuda(), reason="a CUDA GPU is visible")
@pytest.mark.parametrize("command", [("generate", "hi"), ("chat",), ("eval",)])
def test_device_cuda_without_gpu_is_one_line(capsys, tiny_run, command):
    code, out, err = run_cli(capsys, *command[:1], tiny_run.run_dir, *command[1:], "--device", "cuda")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --device cuda but no CUDA GPU is visible")
    assert "--device auto" in lines[0]  # the hint
    assert "Traceback" not in out + err


@pytest.mark.skipif(not _no_cuda(4), reason="four CUDA GPUs are visible")
def test_device_cuda_index_beyond_count_is_one_line(capsys, tiny_run):
    code, out, err = run_cli(capsys, "generate", tiny_run.run_dir, "hi", "--device", "cuda:3")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --device cuda:3 but ")
    assert "(" in lines[0] and "Traceback" not in out + err


@pytest.mark.skipif(not _no_cuda(4), reason="four CUDA GPUs are visible")
def test_cuda_index_beyond_count_when_cuda_exists(monkeypatch):
    import torch

    from core.run_model import select_inference_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert select_inference_device("cuda:1") == ("cuda:1", None)
    with pytest.raises(
        TunerError, match=r"--device cuda:3 but this machine has 2 CUDA GPUs \(cuda:0 to cuda:1\)"
    ):
        select_inference_device("cuda:3")


def test_bad_device_value_is_an_argparse_error(capsys, tiny_run):
    with pytest.raises(SystemExit) as exc:
        main(["generate", str(tiny_run.run_dir), "hi", "--device", "gpu"])
    assert exc.value.code == 2
    assert "expected auto, cpu, cuda, cuda:N, mps or xla, got 'gpu'" in capsys.readouterr().err


def test_parse_device():
    from core.run_model import parse_device

    assert [parse_device(v) for v in ("auto", "CPU", "cuda", "cuda:01", "mps", "xla")] == [
        "auto",
        "cpu",
        "cuda",
        "cuda:1",
        "mps",
        "xla",
    ]
    for bad in ("gpu", "cuda:", "cuda:x", "cpu:0", "xla:1", ""):
        with pytest.raises(ValueError):
            parse_device(bad)


def test_generation_on_xla_only_when_asked_by_name():
    from core.run_model import XLA_NOTE, generation_device

    assert generation_device("auto", "xla") == ("cpu", XLA_NOTE)
    assert generation_device("xla", "xla") == ("xla", None)
    assert generation_device("auto", "cuda") == ("cuda", None)
    assert generation_device("auto", "cpu") == ("cpu", None)
    assert generation_device("cuda:1", "cuda:1") == ("cuda:1", None)


def test_auto_on_a_tpu_vm_generates_on_cpu_and_says_so(capsys, monkeypatch, tiny_run):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr("core.device.xla_available", lambda: True)  # what a TPU VM reports
    code, out, err = run_cli(capsys, "generate", tiny_run.run_dir, "list all files", "--max-new-tokens", 2)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines[0] == "generating on the CPU: XLA recompiles per token; --device xla to force"
    assert " · cpu · " in lines[1] and "command:" in out
