"""Loading models and tokenizers from the TUI's worker threads: quietly, and one at a time.

The model itself is loaded by `core.run_model.load_for_inference` (the loader `tuner generate`
and `tuner chat` use); this module only keeps the TUI's terminal clean and serializes loads.
torch and transformers are imported inside the functions, never at start-up.
"""

from __future__ import annotations

import os
import threading
from typing import Any

# One load at a time: two threads importing transformers at once race inside its lazy module
# ("cannot import name 'AutoTokenizer'"), and two loads would double the peak memory anyway.
LOAD_LOCK = threading.Lock()


def quiet() -> None:
    """No progress bars or advisory chatter on the terminal the TUI is drawing on."""
    for key, value in (
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(key, value)


def load_run_model(
    run_dir: str | None,
    *,
    base: bool = False,
    checkpoint: str | None = None,
    preset: str | None = None,
    export: str | None = None,
) -> Any:
    """A run's model, a merged export of it, or a preset's base model (core.run_model.Loaded); slow: call from a worker thread."""
    from core.run_model import load_for_inference, load_merged_export, load_preset_base

    quiet()
    with LOAD_LOCK:
        if export is not None:
            return load_merged_export(export)
        if run_dir is None:
            return load_preset_base(preset or "quickstart")
        return load_for_inference(run_dir, base=base, checkpoint=checkpoint)


def load_tokenizer(model: Any) -> Any:
    """The tokenizer of a preset's model section (None for a from-scratch model without one yet)."""
    from core.models.loader import load_tokenizer as core_load_tokenizer

    quiet()
    with LOAD_LOCK:
        return core_load_tokenizer(model)
