"""`tuner merge`: runs' LoRA adapters combined by PEFT into a run-like directory, and the one-line refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.cli import main
from core.events import read_events
from core.runs import list_runs


def make_run(tiny_run, root: Path, name: str, *, seed: int, r: int = 4, targets=("q_proj", "v_proj")) -> Path:
    """A copy of the tiny run under `root/name` with its own random adapter (rank r, targets)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = root / name
    shutil.copytree(tiny_run.run_dir, run, ignore=shutil.ignore_patterns("adapter"))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(tiny_run.model_dir)
    cfg = LoraConfig(r=r, lora_alpha=2 * r, target_modules=list(targets), init_lora_weights=False)
    get_peft_model(model, cfg).save_pretrained(run / "adapter")
    shutil.copy(tiny_run.run_dir / "adapter" / "tokenizer.json", run / "adapter")
    return run


@pytest.fixture
def two_runs(tiny_run, tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    return root, make_run(tiny_run, root, "a", seed=1), make_run(tiny_run, root, "b", seed=2, r=2)


def merge(root: Path, *args) -> int:
    return main(["merge", *map(str, args), "--runs-dir", str(root)])


def deltas(base_dir: Path, adapter_dir: Path) -> dict[str, object]:
    """Every LoRA module's delta weight (PEFT's get_delta_weight) for an adapter on the base."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), str(adapter_dir))
    return {
        name: module.get_delta_weight("default").detach()
        for name, module in model.named_modules()
        if hasattr(module, "get_delta_weight") and "default" in getattr(module, "lora_A", {})
    }


def test_cat_merge_is_the_weighted_sum_of_the_deltas(two_runs, tiny_run, capsys):
    import torch

    root, a, b = two_runs
    assert merge(root, "a", "b", "--method", "cat", "--weights", "0.7,0.3", "--out", "ab") == 0
    out = root / "ab"
    assert "tuner chat ab" in capsys.readouterr().out
    merged = deltas(tiny_run.model_dir, out / "adapter")
    da, db = deltas(tiny_run.model_dir, a / "adapter"), deltas(tiny_run.model_dir, b / "adapter")
    assert merged.keys() == da.keys() == db.keys() and merged
    for name, delta in merged.items():
        torch.testing.assert_close(delta, 0.7 * da[name] + 0.3 * db[name], atol=1e-5, rtol=1e-4)
    config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert config["r"] == 6, "cat: the ranks add up"
    # run-like: listed as finished, provenance names the sources, the preset is the first source's
    (info,) = [r for r in list_runs(root) if r.name == "ab"]
    assert info.status == "finished" and info.model == str(tiny_run.model_dir)
    (event,) = read_events(out / "events.jsonl")
    assert event["type"] == "finished" and event["reason"] == "merge"
    record = json.loads((out / "provenance.json").read_text())["extra"]["merge"]
    assert record["method"] == "cat" and record["weights"] == [0.7, 0.3]
    assert [Path(s["run"]).name for s in record["sources"]] == ["a", "b"]
    assert (out / "preset.toml").read_text() == (a / "preset.toml").read_text()
    assert not [p for p in root.iterdir() if p.name.startswith(".")], "no temporary folder left behind"


def test_linear_merge_matches_peft_and_generates(tiny_run, tmp_path, capsys, keep_torch_threads):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    root = tmp_path / "runs"
    root.mkdir()
    a, b = make_run(tiny_run, root, "a", seed=1), make_run(tiny_run, root, "b", seed=2)
    assert merge(root, a, b, "--out", "lin") == 0  # default: linear, equal weights
    # PEFT's own linear merge of the same two adapters, done here directly
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_run.model_dir), str(a / "adapter"), adapter_name="a"
    )
    model.load_adapter(str(b / "adapter"), adapter_name="b")
    model.add_weighted_adapter(["a", "b"], [0.5, 0.5], "ref", combination_type="linear")
    from safetensors.torch import load_file

    saved = load_file(root / "lin" / "adapter" / "adapter_model.safetensors")
    ref = {k: v for k, v in model.state_dict().items() if ".ref." in k}
    assert len(saved) == len(ref)
    for key, value in ref.items():
        torch.testing.assert_close(saved[key.replace(".ref.", ".")], value)
    capsys.readouterr()
    assert main(["generate", str(root / "lin"), "list files", "--max-new-tokens", "3"]) == 0
    assert "lin/adapter" in capsys.readouterr().err


def test_refusals_are_one_line(two_runs, tiny_run, tmp_path, capsys):
    root, _a, _b = two_runs

    def refused(*args) -> str:
        capsys.readouterr()
        assert merge(root, *args) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("error:") == 1, err
        return err

    assert "equal rank" in refused("a", "b", "--out", "x")  # linear needs r 4 = r 2
    assert "1 weights for 2 runs" in refused("a", "b", "--method", "cat", "--weights", "1", "--out", "x")
    make_run(tiny_run, root, "c", seed=3)
    assert "--density" in refused("a", "c", "--method", "ties", "--out", "x")
    assert "at least two" in refused("a", "--out", "x")
    # a different base model
    other = tmp_path / "other-model"
    shutil.copytree(tiny_run.model_dir, other)
    d = make_run(tiny_run, root, "d", seed=4)
    text = (d / "preset.toml").read_text().replace(str(tiny_run.model_dir), str(other))
    (d / "preset.toml").write_text(text)
    assert "different base" in refused("a", "d", "--method", "cat", "--out", "x")
    # a full fine-tune has no adapter
    full = root / "full"
    shutil.copytree(tiny_run.run_dir, full, ignore=shutil.ignore_patterns("adapter"))
    shutil.copytree(tiny_run.model_dir, full / "adapter")
    assert "full fine-tune" in refused("a", "full", "--out", "x")
    # an existing --out, and a source as --out
    assert merge(root, "a", "c", "--out", "ac") == 0
    assert "already exists" in refused("a", "c", "--out", "ac")
    assert "one of the runs" in refused("a", "c", "--out", "c", "--force")
    assert merge(root, "a", "c", "--out", "ac", "--force", "--method", "cat") == 0
    assert json.loads((root / "ac" / "adapter" / "adapter_config.json").read_text())["r"] == 8
    assert not list(root.glob(".*")), "the replaced merge is gone, no temporary folder left"


def test_dare_is_reproducible_with_its_seed(tiny_run, tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    make_run(tiny_run, root, "a", seed=1), make_run(tiny_run, root, "b", seed=2)
    args = ("a", "b", "--method", "dare_linear", "--density", "0.5")
    assert merge(root, *args, "--out", "d1", "--seed", "7") == 0
    assert merge(root, *args, "--out", "d2", "--seed", "7") == 0
    assert merge(root, *args, "--out", "d3", "--seed", "8") == 0
    blob = [(root / d / "adapter" / "adapter_model.safetensors").read_bytes() for d in ("d1", "d2", "d3")]
    assert blob[0] == blob[1] != blob[2]
    assert json.loads((root / "d1" / "provenance.json").read_text())["extra"]["merge"]["density"] == 0.5
