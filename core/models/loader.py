"""Resolve `[model] id` to something transformers can load: hub id, local folder, GGUF file, embedded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config.schema import EMBEDDED_MODEL, ModelCfg
from core.errors import TunerError


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from: a folder or hub id, plus the GGUF file name if any."""

    location: str  # local folder or hub id
    kind: str  # "embedded" | "local" | "gguf" | "hub" | "scratch"
    gguf_file: str | None = None
    revision: str | None = None


def resolve_model(cfg: ModelCfg) -> ModelSource:
    """Turn the preset's model id into a ModelSource; the embedded model is converted on first use."""
    if cfg.scratch is not None:
        return ModelSource("scratch", "scratch")
    if cfg.id == EMBEDDED_MODEL or cfg.id.startswith("embedded:"):
        if cfg.id != EMBEDDED_MODEL:
            raise TunerError(
                f"unknown embedded model {cfg.id!r}", kind="config", hint=f'use id = "{EMBEDDED_MODEL}"'
            )
        from core.models.embedded import converted_dir

        return ModelSource(str(converted_dir()), "embedded")
    path = Path(cfg.id).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise TunerError(f"GGUF file {str(path)!r} does not exist", kind="model", hint="fix [model] id")
        from core.models.embedded import converted_dir

        return ModelSource(str(converted_dir(path)), "gguf")
    if path.is_dir():
        if cfg.gguf_file:
            from core.models.embedded import converted_dir

            return ModelSource(str(converted_dir(path / cfg.gguf_file)), "gguf")
        return ModelSource(str(path), "local")
    if cfg.id.startswith((".", "/", "~")):
        raise TunerError(f"model folder {cfg.id!r} does not exist", kind="model", hint="fix [model] id")
    return ModelSource(cfg.id, "hub", revision=cfg.revision)


def offline_hint(hub_id: str) -> TunerError:
    """The one-sentence error for a hub model that is neither cached nor reachable."""
    home = os.environ.get("HF_HOME", str(Path.home() / ".cache" / "huggingface"))
    return TunerError(
        f"model {hub_id!r} is not in the local Hugging Face cache ({home}) and the Hub cannot be reached",
        kind="offline",
        hint=f"run `hf download {hub_id}` on a machine with internet and copy the cache "
        "(or set HF_HOME), or set [model] id to a local folder",
    )


def from_pretrained(loader: Any, src: ModelSource, **kwargs: Any) -> Any:
    """Call `loader.from_pretrained`, cache first; offline failures become one clear sentence."""
    if src.kind != "hub":
        return loader.from_pretrained(src.location, **kwargs)
    try:
        return loader.from_pretrained(src.location, revision=src.revision, local_files_only=True, **kwargs)
    except OSError:
        pass  # not cached: try the network below
    from core.data.hub import hub_reachable

    if not hub_reachable():
        raise offline_hint(src.location)
    try:
        return loader.from_pretrained(src.location, revision=src.revision, **kwargs)
    except OSError as e:
        if "is not a valid model identifier" in str(e) and "connect" not in str(e).lower():
            raise TunerError(
                f"no model {src.location!r} on the Hugging Face Hub", kind="model", hint="check [model] id"
            ) from None
        raise offline_hint(src.location) from None


def load_tokenizer(cfg: ModelCfg) -> Any:
    """The preset's tokenizer (None for a from-scratch model without one)."""
    from transformers import AutoTokenizer

    src = resolve_model(cfg)
    if src.kind == "scratch":
        if cfg.scratch and cfg.scratch.tokenizer:
            return from_pretrained(AutoTokenizer, resolve_model(ModelCfg(id=cfg.scratch.tokenizer)))
        return None
    tok = from_pretrained(AutoTokenizer, src, trust_remote_code=cfg.trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok
