"""core.run_model without a run: a preset's base model, for trying prompts before any training."""

from __future__ import annotations

import pytest

from core.generate import generate_batch
from core.run_model import load_preset_base


@pytest.mark.slow
def test_preset_base_loads_the_embedded_model_and_answers(keep_torch_threads):
    loaded = load_preset_base("quickstart", device="cpu")
    assert loaded.run_dir is None and loaded.weights_dir is None
    assert loaded.label == "base: embedded:smollm2-135m-instruct" and loaded.device == "cpu"
    assert loaded.style == "chat"
    (answer,) = generate_batch(
        loaded.model, loaded.tokenizer, ["list files"], style=loaded.style, max_new_tokens=8
    )
    assert answer.output.strip()  # greedy text from the real model


def test_unknown_preset_is_one_line_error():
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="no-such-preset"):
        load_preset_base("no-such-preset", device="cpu")


def _tiny_merged_export(run_dir):
    """A run folder (quickstart's preset) with a tiny saved model as exports/merged/ and its manifest."""
    import json

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from core.config.loader import dump_preset, load_preset
    from core.models.embedded import converted_dir

    run_dir.mkdir(parents=True)
    preset, _ = load_preset("quickstart")
    (run_dir / "preset.toml").write_text(dump_preset(preset))
    folder = run_dir / "exports" / "merged"
    tok = AutoTokenizer.from_pretrained(converted_dir())
    cfg = AutoConfig.for_model(
        "llama",
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    manifest = {"format": "merged", "run": {"name": run_dir.name, "path": str(run_dir)}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_merged_export_loads_with_its_runs_prompt_format(tmp_path, keep_torch_threads):
    from core.run_model import load_merged_export

    run_dir = tmp_path / "runs" / "quickstart-20261121-101335"
    folder = _tiny_merged_export(run_dir)
    loaded = load_merged_export(folder, device="cpu")
    assert loaded.run_dir == run_dir and loaded.weights_dir == folder
    assert loaded.label == "quickstart-20261121-101335/exports/merged"
    assert loaded.style == "chat"  # the export's chat template, as the run was prompted
    assert loaded.system_prompt == loaded.preset.data.system_prompt
    assert loaded.base_note == "merged export (fp32)" and loaded.device == "cpu"
    (answer,) = generate_batch(
        loaded.model, loaded.tokenizer, ["list files"], style=loaded.style, max_new_tokens=4
    )
    assert isinstance(answer.output, str)

    # A manifest naming a run that moved: the run around exports/ still gives the prompt format.
    moved = tmp_path / "moved"
    run_dir.rename(moved)
    assert load_merged_export(moved / "exports" / "merged", device="cpu").run_dir == moved


def test_merged_export_without_a_model_is_one_line_error(tmp_path):
    from core.errors import TunerError
    from core.run_model import load_merged_export

    with pytest.raises(TunerError, match=r"holds no config\.json"):
        load_merged_export(tmp_path, device="cpu")
