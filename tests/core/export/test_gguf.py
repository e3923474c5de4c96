"""GGUF export through llama.cpp's converter, checked without llama.cpp's C++ code: the file parses with
PyPI's `gguf` reader and loads in transformers' GGUF loader with the source model's logits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import TunerError
from core.export.gguf import available_quants, convert_to_gguf

# config.json architecture → GGUF general.architecture; the families the presets use.
GGUF_ARCH = {"llama": "llama", "qwen2": "qwen2", "gpt2": "gpt2", "gpt_neox": "gptneox"}
SHAPES = {
    "llama": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=512, tie_word_embeddings=True),
    "qwen2": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=512, tie_word_embeddings=True),
    "gpt_neox": dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
                     max_position_embeddings=512, rotary_pct=0.25, tie_word_embeddings=False),
    # transformers' GGUF loader reads GPT-2's context length into n_ctx, so n_positions must be its default.
    "gpt2": dict(n_embd=64, n_layer=2, n_head=2, n_positions=1024),
}  # fmt: skip
PROMPT = "<|im_start|>user\nfind files over 100M in /var<|im_end|>\n<|im_start|>assistant\n"


def build_merged_tiny(folder: Path, family: str) -> Path:
    """A merged-model folder as an export writes it: random tiny weights, the embedded SmolLM2 tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from core.models.embedded import converted_dir

    tok = AutoTokenizer.from_pretrained(converted_dir())
    ids = dict(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    cfg = AutoConfig.for_model(family, vocab_size=len(tok), **ids, **SHAPES[family])
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg)
    model.save_pretrained(folder)  # config, safetensors, generation_config.json
    tok.save_pretrained(folder)  # tokenizer.json, tokenizer_config.json, chat_template.jinja
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """family → (merged folder, {quant: GGUF file}), built and converted once per module."""
    made: dict[str, tuple[Path, dict[str, Path]]] = {}

    def get(family: str) -> tuple[Path, dict[str, Path]]:
        if family not in made:
            root = tmp_path_factory.mktemp(f"gguf-{family}")
            src = build_merged_tiny(root / "merged", family)
            files = {}
            for quant in ("f16", "q8_0"):
                files[quant] = root / "out" / f"model-{quant}.gguf"
                convert_to_gguf(src, files[quant], quant)
            made[family] = (src, files)
        return made[family]

    return get


def _field(reader, key: str):
    return reader.fields[key].contents()


@pytest.mark.slow
@pytest.mark.parametrize("family", ["llama", "qwen2", "gpt2", "gpt_neox"])
def test_gguf_carries_architecture_template_eos_and_quant_types(exported, family):
    from gguf import GGMLQuantizationType, GGUFReader

    src, files = exported(family)
    eos = json.loads((src / "generation_config.json").read_text())["eos_token_id"]
    for quant, wanted in (("f16", GGMLQuantizationType.F16), ("q8_0", GGMLQuantizationType.Q8_0)):
        reader = GGUFReader(files[quant])
        assert _field(reader, "general.architecture") == GGUF_ARCH[family]
        assert _field(reader, "tokenizer.chat_template") == (src / "chat_template.jinja").read_text()
        assert _field(reader, "tokenizer.ggml.eos_token_id") == eos
        types = {t.name: t.tensor_type for t in reader.tensors}
        # Matrices are quantized; norms and biases stay F32, as llama.cpp's converter decides.
        assert types["token_embd.weight"] == wanted
        assert all(
            t == wanted for name, t in types.items() if name.endswith(("ffn_up.weight", "ffn_down.weight"))
        )
        assert all(t == GGMLQuantizationType.F32 for name, t in types.items() if "norm" in name)
        if family == "gpt_neox":
            _assert_embedding_kept(src, reader, quant)
    assert not [p.name for p in files["f16"].parent.iterdir() if p.suffix != ".gguf"]  # no temp or log left


def _assert_embedding_kept(src: Path, reader, quant: str) -> None:
    # transformers' GGUF loader has no gptneox, so compare a dequantized tensor with the source's.
    import numpy as np
    from gguf.quants import dequantize
    from safetensors.numpy import load_file

    embed = load_file(src / "model.safetensors")["gpt_neox.embed_in.weight"]
    tensor = next(t for t in reader.tensors if t.name == "token_embd.weight")
    got = dequantize(tensor.data, tensor.tensor_type).reshape(embed.shape)
    # Measured max |Δ| on this model (|w| ≤ 0.1): f16 3e-5, q8_0 4e-4.
    assert np.abs(got - embed).max() < {"f16": 1e-4, "q8_0": 2e-3}[quant]


@pytest.mark.slow
@pytest.mark.parametrize("family", ["llama", "qwen2", "gpt2"])
def test_gguf_loads_in_transformers_with_the_source_logits(exported, family):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src, files = exported(family)
    ids = AutoTokenizer.from_pretrained(src)(PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        ref = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32).eval()(ids).logits
        # Tolerances measured on these models (|logits| ≤ 1.2): f16 ≤ 3e-4, q8_0 ≤ 1e-2.
        for quant, atol in (("f16", 2e-3), ("q8_0", 3e-2)):
            path = files[quant]
            model = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
            got = model.eval()(ids).logits
            assert (got - ref).abs().max().item() < atol, quant
            assert torch.equal(got.argmax(-1), ref.argmax(-1)), quant


def _fake_model(folder: Path, arch: str, weights: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architectures": [arch], "model_type": "x"}))
    if weights:
        (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_unsupported_architecture_is_one_line_and_writes_nothing(tmp_path):
    src = _fake_model(tmp_path / "gptj", "GPTJForCausalLM")
    out = tmp_path / "out" / "model.gguf"
    with pytest.raises(TunerError, match="does not support GPTJForCausalLM") as err:
        convert_to_gguf(src, out)
    assert "\n" not in str(err.value)
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_bad_inputs_are_one_line_errors(tmp_path):
    out = tmp_path / "out.gguf"
    with pytest.raises(TunerError, match=r"no config\.json"):
        convert_to_gguf(tmp_path, out)
    src = _fake_model(tmp_path / "empty", "LlamaForCausalLM", weights=False)
    with pytest.raises(TunerError, match="no model weights"):
        convert_to_gguf(src, out)
    with pytest.raises(TunerError, match="unknown GGUF quantization 'q9'") as err:
        convert_to_gguf(src, out, "q9")
    assert "q4_k_m" in str(err.value)  # the hint lists the choices
    assert not out.exists()


def test_available_quants_says_why_llama_cpp_quants_are_missing():
    import importlib.util

    quants = available_quants()
    assert all(quants[q] is None for q in ("f32", "f16", "bf16", "q8_0"))
    if importlib.util.find_spec("llama_cpp") is None:
        assert "llama-cpp-python" in (quants["q4_k_m"] or "")
        with pytest.raises(TunerError, match="q4_k_m is not available"):
            convert_to_gguf(Path("unused"), Path("unused.gguf"), "q4_k_m")
    else:
        assert quants["q4_k_m"] is None


@pytest.mark.slow
def test_a_failing_conversion_leaves_no_gguf_and_keeps_the_log(tmp_path):
    from core.models.embedded import converted_dir

    src = tmp_path / "broken"
    shutil.copytree(converted_dir(), src, ignore=shutil.ignore_patterns("*.safetensors"))
    (src / "model.safetensors").write_bytes(b"not a safetensors file")
    out = tmp_path / "out" / "model.gguf"
    with pytest.raises(TunerError, match=r"llama\.cpp's GGUF converter on .* failed") as err:
        convert_to_gguf(src, out, "q8_0")
    assert "\n" not in str(err.value)
    log = out.with_name("model.gguf.failed.log")
    assert f"full log: {log}" in str(err.value)
    assert sorted(p.name for p in out.parent.iterdir()) == [log.name]  # no GGUF, no temporary folder
