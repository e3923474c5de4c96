"""Shared fixtures: isolated run/cache folders, the embedded tokenizer, preset builders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def jsonl_file(tmp_path):
    """Write rows to a JSONL file and return its path."""

    def write(rows: list[dict], name: str = "data.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    return write


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Data builds and presets go to a temporary folder (the converted model cache stays shared)."""
    monkeypatch.setenv("TUNER_DATA_DIR", str(tmp_path / "data-cache"))
    monkeypatch.setenv("TUNER_PRESETS_DIR", str(tmp_path / "user-presets"))
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


@pytest.fixture(scope="session")
def smol_tokenizer():
    """The embedded SmolLM2 tokenizer (converted once per machine, then cached)."""
    from transformers import AutoTokenizer

    from core.models.embedded import converted_dir

    return AutoTokenizer.from_pretrained(converted_dir())


@pytest.fixture
def sandbox_ready() -> None:
    """Skip (or, on CI / with TUNER_REQUIRE_SANDBOX=1, fail) when bubblewrap cannot work here."""
    import os

    from core.sandbox.bwrap import sandbox_problem

    problem = sandbox_problem()
    if problem:
        if os.environ.get("CI") or os.environ.get("TUNER_REQUIRE_SANDBOX"):
            pytest.fail(f"the sandbox must work on CI: {problem}")
        pytest.skip(problem)
