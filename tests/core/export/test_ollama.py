"""The Ollama Modelfile reproduces the prompt text tuner trained on (core.data.formatting.prompt_text)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from core.data.formatting import prompt_text
from core.export.ollama import write_modelfile

INSTRUCTION = 'find files over 100M in /var and say "done"'


def render(template: str, system: str, prompt: str) -> str:
    """The prompt Ollama builds from the fixed template shapes tuner writes (Go template, last turn)."""

    def branch(match: re.Match) -> str:
        return match.group(1) if system else match.group(2)

    text = re.sub(r"\{\{ if \.System \}\}(.*?)\{\{ else \}\}(.*?)\{\{ end \}\}", branch, template, flags=re.S)
    # Ollama cuts the template at .Response for the turn being generated.
    text = text.split("{{ .Response }}")[0]
    text = text.replace("{{ .System }}", system).replace("{{ .Prompt }}", prompt)
    return text.replace('{{ "{{" }}', "{{")


def parse(modelfile: Path) -> dict:
    """TEMPLATE, SYSTEM, FROM and the stop parameters of a Modelfile."""
    text = modelfile.read_text()
    blocks = dict(re.findall(r'^(TEMPLATE|SYSTEM) """(.*?)"""$', text, flags=re.S | re.M))
    return {
        "from": re.search(r"^FROM (.+)$", text, flags=re.M).group(1),
        "template": blocks["TEMPLATE"],
        "system": blocks.get("SYSTEM"),
        "stop": re.findall(r'^PARAMETER stop "(.*)"$', text, flags=re.M),
    }


@pytest.fixture(scope="module")
def smol_dir() -> Path:
    from core.models.embedded import converted_dir

    return converted_dir()


def test_chat_modelfile_inserts_the_templates_default_system_prompt(tmp_path, smol_tokenizer, smol_dir):
    mf = parse(write_modelfile(tmp_path, "model-q8_0.gguf", smol_dir, None))
    assert mf["from"] == "./model-q8_0.gguf"
    assert "SmolLM" in mf["system"]  # SmolLM2's template adds it when a conversation has no system turn
    want = prompt_text(smol_tokenizer, INSTRUCTION, "chat", None)
    assert render(mf["template"], mf["system"], INSTRUCTION) == want
    assert render(mf["template"], "", INSTRUCTION) == want  # `ollama run` with the system prompt cleared
    assert mf["stop"] == ["<|im_end|>"]


def test_chat_modelfile_with_the_runs_system_prompt(tmp_path, smol_tokenizer, smol_dir):
    system = "You write one bash command."
    mf = parse(write_modelfile(tmp_path, "m.gguf", smol_dir, system))
    assert mf["system"] == system
    assert render(mf["template"], system, INSTRUCTION) == prompt_text(
        smol_tokenizer, INSTRUCTION, "chat", system
    )


def test_chat_template_without_a_default_system_prompt(tmp_path):
    from transformers import AutoTokenizer

    from core.models.embedded import converted_dir

    model_dir = tmp_path / "model"
    shutil.copytree(converted_dir(), model_dir, ignore=shutil.ignore_patterns("*.safetensors"))
    (model_dir / "chat_template.jinja").write_text(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    tok = AutoTokenizer.from_pretrained(model_dir)
    mf = parse(write_modelfile(tmp_path / "out", "m.gguf", model_dir, None))
    assert mf["system"] is None
    assert render(mf["template"], "", INSTRUCTION) == prompt_text(tok, INSTRUCTION, "chat", None)
    assert render(mf["template"], "Be brief.", INSTRUCTION) == prompt_text(
        tok, INSTRUCTION, "chat", "Be brief."
    )


def test_instruction_modelfile_reproduces_tuners_plain_format(tmp_path, smol_dir):
    from transformers import AutoTokenizer

    model_dir = tmp_path / "model"
    shutil.copytree(
        smol_dir, model_dir, ignore=shutil.ignore_patterns("*.safetensors", "chat_template.jinja")
    )
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert not tok.chat_template
    path = write_modelfile(tmp_path / "out", "m.gguf", model_dir, "ignored by this format")
    mf = parse(path)
    assert mf["system"] is None
    assert render(mf["template"], "", INSTRUCTION) == prompt_text(tok, INSTRUCTION, "instruction")
    assert mf["stop"] == [tok.eos_token]
    assert [p.name for p in path.parent.iterdir()] == ["Modelfile"]  # no temporary file left
