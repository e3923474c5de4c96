"""Preset loading: every shipped preset validates; every error names file, key, value and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config.loader import apply_overrides, list_presets, load_preset, parse_override
from core.config.schema import parse_duration
from core.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_shipped_preset_validates():
    shipped = [pf for pf in list_presets() if pf.shipped]
    assert {pf.name for pf in shipped} >= {"quickstart", "qwen-qlora", "tpu-lora", "pythia", "mps-scratch"}
    for pf in shipped:
        preset, _path = load_preset(pf.path)
        assert preset.name == pf.name
        if pf.name != "quickstart":
            assert preset.follows, f"{pf.name} must say which document it follows"


def test_unknown_key_suggests_the_close_one(tmp_path):
    path = write(tmp_path, 'name = "x"\n[train]\nlrr = 1e-4\n')
    with pytest.raises(ConfigError) as e:
        load_preset(path)
    msg = str(e.value)
    assert str(path) in msg and "train.lrr" in msg and "did you mean 'lr'" in msg


def test_unknown_section_suggests(tmp_path):
    path = write(tmp_path, 'name = "x"\n[lroa]\nr = 8\n')
    with pytest.raises(ConfigError, match="did you mean 'lora'"):
        load_preset(path)


def test_wrong_value_names_key_value_and_expectation(tmp_path):
    path = write(tmp_path, 'name = "x"\n[train]\nmicro_batch_size = 0\nscheduler = "cosin"\n')
    with pytest.raises(ConfigError) as e:
        load_preset(path)
    lines = str(e.value).splitlines()
    assert len(lines) == 2, "one line per problem"
    assert any(
        "train.micro_batch_size" in line and "= 0" in line and "greater than or equal to 1" in line
        for line in lines
    )
    assert any("train.scheduler" in line and "'cosin'" in line and "cosine" in line for line in lines)


def test_nested_source_error_has_index(tmp_path):
    path = write(tmp_path, 'name = "x"\n[[data.sources]]\nkind = "file"\n')
    with pytest.raises(ConfigError, match=r"data\.sources\[0\].*needs path"):
        load_preset(path)


def test_invalid_toml_names_file_and_line(tmp_path):
    path = write(tmp_path, 'name = "x"\n[train\n')
    with pytest.raises(ConfigError, match=r"p\.toml: invalid TOML.*line 2"):
        load_preset(path)


def test_missing_preset_file_and_unknown_name():
    with pytest.raises(ConfigError, match="does not exist"):
        load_preset("nope/missing.toml")
    with pytest.raises(ConfigError, match="did you mean 'quickstart'"):
        load_preset("quickstrat")


def test_overrides_are_typed_and_validated():
    preset, _ = load_preset(
        "quickstart", ["train.lr=5e-4", 'lora.target_modules=["q_proj"]', "model.device=cpu"]
    )
    assert (
        preset.train.lr == 5e-4 and preset.lora.target_modules == ["q_proj"] and preset.model.device == "cpu"
    )
    with pytest.raises(ConfigError, match=r"train\.max_steps"):
        load_preset("quickstart", ["train.max_steps=-3"])
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_override("train.lr")


def test_apply_overrides_creates_sections():
    assert apply_overrides({}, ["a.b=1"]) == {"a": {"b": 1}}


def test_quantization_refused_on_xla(tmp_path):
    path = write(tmp_path, 'name = "x"\n[model]\ndevice = "xla"\n[quant]\nbits = 4\n')
    with pytest.raises(ConfigError, match="XLA"):
        load_preset(path)


@pytest.mark.parametrize("text,seconds", [("8h30m", 30600), ("45m", 2700), ("90s", 90), ("1h", 3600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration(tmp_path):
    path = write(tmp_path, 'name = "x"\n[train]\ntime_budget = "8 hours"\n')
    with pytest.raises(ConfigError, match=r"time_budget.*8h30m"):
        load_preset(path)
