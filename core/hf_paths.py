"""Where the Hugging Face caches are, by huggingface_hub's own rules, read from the environment at call time.

huggingface_hub reads its constants once, at import; doctor (or a test) may change HF_HOME afterwards, so
`_hub_constants()` runs the library's constants module again against the current environment instead of
copying its rules here.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any


def _hub_constants() -> Any | None:
    """huggingface_hub.constants evaluated now (about 1 ms), or None when huggingface_hub is missing."""
    try:
        spec = importlib.util.find_spec("huggingface_hub.constants")
    except ImportError:
        return None
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)  # a private copy: sys.modules keeps the library's own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notices were already shown by the real import
        spec.loader.exec_module(module)
    return module


def hf_home() -> Path:
    """HF_HOME as huggingface_hub computes it, from the environment as it is now."""
    constants = _hub_constants()
    if constants is None:  # huggingface_hub missing (the packages section fails it): its default
        return Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface").expanduser()
    return Path(constants.HF_HOME)


def hf_hub_cache() -> Path:
    """Where models and Hub datasets are downloaded (HF_HUB_CACHE, default $HF_HOME/hub)."""
    constants = _hub_constants()
    return Path(constants.HF_HUB_CACHE) if constants is not None else hf_home() / "hub"


def hf_datasets_cache() -> Path:
    """Where `datasets` keeps prepared Arrow copies (HF_DATASETS_CACHE, default $HF_HOME/datasets)."""
    # datasets.config has the same rule, but importing datasets (pyarrow) would cost seconds
    env = os.environ.get("HF_DATASETS_CACHE")
    return Path(env).expanduser() if env else hf_home() / "datasets"


def repo_folder(repo_id: str, repo_type: str = "model") -> Path:
    """The folder of a Hub repo inside the hub cache (models--owner--name, datasets--owner--name)."""
    from huggingface_hub.file_download import repo_folder_name

    return hf_hub_cache() / repo_folder_name(repo_id=repo_id, repo_type=repo_type)
