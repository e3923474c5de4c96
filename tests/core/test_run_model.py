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
