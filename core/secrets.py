"""Secrets never reach a run directory, a log or a terminal: one home for recognising and masking them.

Every writer passes through here: events (core.events.EventWriter), train.log (its filter), the
terminal's event lines, provenance and the saved preset. A secret is the value of an environment
variable whose name says so (WANDB_API_KEY, HF_TOKEN, …), or a value under such a name.
"""

from __future__ import annotations

import os
import re
from typing import Any

# A name that holds a secret: *TOKEN*, *KEY*, *SECRET*, *PASSWORD*. "TOKENS"/"TOKENIZER" are
# excluded so that settings like train.max_tokens_per_batch are not hidden.
_SECRET_NAME = re.compile(r"TOKEN(?!S|IZ)|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_MIN_SECRET_LEN = 8  # shorter values ("1", "true") would scrub ordinary text
MASK = "***"


def is_secret_name(name: str) -> bool:
    """True for env var / option / setting names that hold secrets (tokens, keys, passwords)."""
    return bool(_SECRET_NAME.search(name))


def secret_values() -> list[str]:
    """The values of the secret-named environment variables set now, longest first."""
    values = {v for k, v in os.environ.items() if is_secret_name(k) and len(v) >= _MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)  # longest first: a value may contain another


def scrub(text: str) -> str:
    """`text` with the value of every secret env var currently set replaced by "***"."""
    for value in secret_values():
        if value in text:
            text = text.replace(value, MASK)
    return text


def scrub_argv(argv: list[str]) -> list[str]:
    """A command line with secret option values (`--hf-token X`, `--set log.wandb_key=X`) masked."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        if "=" in arg:
            key, _ = arg.split("=", 1)
            if is_secret_name(key):
                out.append(f"{key}={MASK}")
                continue
        elif arg.startswith("-") and is_secret_name(arg):
            mask_next = True  # `--token VALUE`: the value is the next argument
        out.append(scrub(arg))
    return out


def scrub_obj(obj: Any) -> Any:
    """Scrub strings and mask values under secret-looking keys, recursively."""
    if isinstance(obj, str):
        return scrub(obj)
    if isinstance(obj, dict):
        return {k: MASK if is_secret_name(str(k)) and v is not None else scrub_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub_obj(v) for v in obj]
    return obj


def secret_names_in(text: str) -> list[str]:
    """Names of the secret environment variables whose values appear in `text`."""
    return sorted(
        k for k, v in os.environ.items() if is_secret_name(k) and len(v) >= _MIN_SECRET_LEN and v in text
    )


def secrets_in_values(data: Any, path: str = "") -> list[tuple[str, list[str]]]:
    """(key path, secret env var names) for every value in `data` holding a secret, keys named as secrets aside."""
    found: list[tuple[str, list[str]]] = []
    if isinstance(data, str):
        names = secret_names_in(data)
        return [(path, names)] if names else []
    if isinstance(data, dict):
        for k, v in data.items():
            if not is_secret_name(str(k)):  # masked on save by name; its value is meant to be a secret
                found += secrets_in_values(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            found += secrets_in_values(v, f"{path}[{i}]")
    return found
