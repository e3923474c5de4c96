"""Fixtures for the core tests: a tiny finished run (random 2-layer Llama + LoRA adapter) that loads in
well under a second, for `tuner generate/chat/eval` and core.run_model / core.evaluate."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

# The run's own test split (what `tuner eval RUN` reads) and the alternatives of its second row.
TEST_ROWS = [
    ("List all files, including hidden ones", "ls -la"),
    ("Show disk usage of the current folder", "du -sh ."),
    ("Count lines in notes.txt", "wc -l notes.txt"),
    ("Print the working directory", "pwd"),
    ("Show the last 5 lines of app.log", "tail -n 5 app.log"),
]
ALTERNATIVES = {"t:2": ["du -sh", "du -s -h ."]}


@dataclass(frozen=True)
class TinyRun:
    """Paths of the tiny run: run_dir holds preset.toml, provenance.json and adapter/."""

    run_dir: Path
    model_dir: Path
    data_dir: Path  # built-data-dir layout: test.jsonl, alternatives.json, manifest.json
    source_file: Path  # the preset's [[data.sources]] file (for rebuilding the split)
    test_rows: int = len(TEST_ROWS)

    def copy(self, dest: Path, *, adapter: bool = True) -> Path:
        """A private copy of the run directory (the tests that write into it use one)."""
        target = Path(dest) / self.run_dir.name
        shutil.copytree(self.run_dir, target, ignore=None if adapter else shutil.ignore_patterns("adapter"))
        return target


def _source_rows() -> list[dict]:
    """Forty distinct, valid, harmless NL→bash pairs for the preset's data source."""
    rows = []
    for i in range(40):
        rows.append(
            {"instruction": f"Print line {i + 1} of file{i}.txt", "command": f"sed -n '{i + 1}p' file{i}.txt"}
        )
    return rows


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, smol_tokenizer) -> TinyRun:
    """A finished run on a random tiny Llama (SmolLM2 tokenizer): preset.toml, provenance.json, adapter/."""
    import tomli_w
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from core.config.schema import Preset

    root = tmp_path_factory.mktemp("tiny")
    tok = smol_tokenizer
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
    )
    model = LlamaForCausalLM(cfg)
    model_dir = root / "tiny-model"
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)

    source_file = root / "source.jsonl"
    source_file.write_text("".join(json.dumps(r) + "\n" for r in _source_rows()))
    data_dir = root / "data"
    data_dir.mkdir()
    (data_dir / "test.jsonl").write_text(
        "".join(
            json.dumps({"instruction": ins, "command": cmd, "source": "t", "row_id": f"t:{i}"}) + "\n"
            for i, (ins, cmd) in enumerate(TEST_ROWS, 1)
        )
    )
    (data_dir / "alternatives.json").write_text(json.dumps(ALTERNATIVES))
    (data_dir / "manifest.json").write_text(
        json.dumps({"data_hash": "tiny", "counts": {"test": len(TEST_ROWS)}})
    )

    preset = Preset.model_validate(
        {
            "name": "tiny",
            "model": {"id": str(model_dir)},
            "data": {
                "sources": [{"kind": "file", "path": str(source_file)}],
                "split": {"train": 0.5, "val": 0.25, "test": 0.25},
            },
            "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
            "eval": {"max_new_tokens": 6},
        }
    )
    run_dir = root / "runs" / "tiny-20260101-000000"
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
                "extra": {"data_dir": str(data_dir), "style": "chat", "dtype": "float32"},
            }
        )
    )
    peft_model = get_peft_model(
        model,
        LoraConfig(
            r=4,
            lora_alpha=8,
            target_modules=["q_proj", "v_proj"],
            task_type="CAUSAL_LM",
            init_lora_weights=False,
        ),
    )
    peft_model.save_pretrained(run_dir / "adapter")
    tok.save_pretrained(run_dir / "adapter")
    return TinyRun(run_dir, model_dir, data_dir, source_file)


@pytest.fixture
def keep_torch_threads():
    """Restore torch's thread count after a test (load_for_inference may lower it on a busy CPU)."""
    import sys

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and before is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)
