"""model.init_from / model.init_mode: validated like every key, kept out of dumps until set."""

from __future__ import annotations

import pytest

from core.config.loader import dump_preset, load_preset, validate_preset
from core.errors import ConfigError


def test_init_mode_defaults_to_merge_and_stays_out_of_dumps():
    preset = validate_preset({"name": "p", "model": {"init_from": "run-a:best"}})
    assert preset.model.init_mode is None  # read as "merge" by core.train.init_from
    text = dump_preset(preset)
    assert 'init_from = "run-a:best"' in text and "init_mode" not in text


def test_a_bad_init_mode_is_one_line_naming_the_key():
    with pytest.raises(ConfigError) as e:
        validate_preset({"name": "p", "model": {"init_mode": "stack"}}, "p.toml")
    (line,) = str(e.value).splitlines()
    assert line.startswith("p.toml: 'model.init_mode' = 'stack'") and "merge" in line and "continue" in line


def test_set_overrides_reach_both_keys():
    preset, _ = load_preset("quickstart", ["model.init_from=run-a", "model.init_mode=continue"])
    assert (preset.model.init_from, preset.model.init_mode) == ("run-a", "continue")


def test_the_stage_two_preset_names_the_phase_before():
    preset, _ = load_preset("mps-scratch-code")
    assert preset.model.init_from == "previous:best" and preset.train.adapter == "full"
    assert preset.model.scratch == load_preset("mps-scratch")[0].model.scratch, "stage 1's architecture"
