"""`tuner export --format merged` end to end on the tiny run: files, stop tokens, manifest, proof, atomic output."""

from __future__ import annotations

import json

import pytest

from core.cli import main

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def run_dir(tmp_path, tiny_run):
    """A private copy of the tiny run (exports are written inside it)."""
    return tiny_run.copy(tmp_path)


def test_merged_export_loads_standalone_and_matches_the_run(capsys, run_dir, smol_tokenizer):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.run_model import load_for_inference

    code, out, err = run_cli(capsys, "export", run_dir)
    assert code == 0, err
    folder = run_dir / "exports" / "merged"
    assert "verified:" in out and "matches the run" in out and str(folder) in out
    names = {p.name for p in folder.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "manifest.json",
    } <= names
    assert not list(folder.glob("adapter_*")), "a merged export has no adapter files"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp-")]

    # The export stops where training taught the model to stop: <|im_end|> for the chat template.
    im_end = smol_tokenizer.convert_tokens_to_ids("<|im_end|>")
    gen = json.loads((folder / "generation_config.json").read_text())
    eos = gen["eos_token_id"] if isinstance(gen["eos_token_id"], list) else [gen["eos_token_id"]]
    assert eos[0] == im_end and gen["pad_token_id"] is not None
    tok = AutoTokenizer.from_pretrained(folder)
    assert tok.chat_template and tok.eos_token == "<|im_end|>"

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "merged" and manifest["dtype"] == "float32"
    assert manifest["run"]["name"] == run_dir.name and manifest["run"]["checkpoint"] is None
    assert manifest["run"]["data_hash"] == "tiny" and manifest["run"]["adapter"] == "lora"
    assert len(manifest["base"]["sha256"]) == 64 and len(manifest["adapter_sha256"]) == 64
    assert manifest["verification"]["ok"] and manifest["verification"]["prompts"] == 3
    assert manifest["size_bytes"] == sum(manifest["files"].values())

    # Independently of the export's own check: the standalone model gives the run's logits.
    model = AutoModelForCausalLM.from_pretrained(folder)
    ref = load_for_inference(str(run_dir), device="cpu", fit_threads=False)
    ids = tok("<|im_start|>user\nlist files<|im_end|>\n", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        diff = (model(ids).logits - ref.model(ids).logits).abs().max().item()
    assert diff < 1e-4


def test_existing_export_is_refused_then_replaced_with_force(capsys, run_dir):
    assert run_cli(capsys, "export", run_dir, "--no-verify")[0] == 0
    folder = run_dir / "exports" / "merged"
    first = json.loads((folder / "manifest.json").read_text())
    assert first["verification"] is None

    code, _, err = run_cli(capsys, "export", run_dir, "--no-verify")
    assert code == 2 and "already holds an export" in err and "--force" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    code, _, err = run_cli(capsys, "export", run_dir, "--no-verify", "--force")
    assert code == 0, err
    second = json.loads((folder / "manifest.json").read_text())
    assert second["created"] > first["created"]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["merged"]  # no staging or old copy left


def test_force_never_replaces_a_folder_that_is_not_an_export(capsys, run_dir, tmp_path):
    out_dir = tmp_path / "mine"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("keep me")
    code, _, err = run_cli(capsys, "export", run_dir, "--out", out_dir, "--force", "--no-verify")
    assert code == 2 and "not an earlier export" in err
    assert [p.name for p in out_dir.iterdir()] == ["notes.txt"]


def test_bf16_export_of_a_checkpoint(capsys, run_dir):
    import shutil

    ck = run_dir / "checkpoints" / "checkpoint-3"
    shutil.copytree(run_dir / "adapter", ck)
    (ck / "COMPLETE").write_text("3")
    code, _, err = run_cli(capsys, "export", run_dir, "--checkpoint", "3", "--quant", "bf16")
    assert code == 0, err
    folder = run_dir / "exports" / "merged-bf16-checkpoint-3"
    config = json.loads((folder / "config.json").read_text())
    assert config["dtype"] == "bfloat16"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["run"]["checkpoint"] == "checkpoint-3" and manifest["quant"] == "bf16"
    assert manifest["verification"]["ok"], manifest["verification"]


def test_export_is_listed_for_clients(capsys, run_dir):
    from core.export.target import list_exports

    assert list_exports(run_dir) == []
    assert run_cli(capsys, "export", run_dir, "--no-verify")[0] == 0
    assert run_cli(capsys, "export", run_dir, "--format", "adapter")[0] == 0
    (run_dir / "exports" / ".tmp-merged-f16-1").mkdir()  # a crashed export: never listed
    found = {(e.format, e.verified) for e in list_exports(run_dir)}
    assert found == {("merged", None), ("adapter", True)}
