"""Is the Hugging Face Hub reachable? Asked once, quickly, before any hub download.

Without this check huggingface_hub retries a failed lookup five times with back-off (~45 s)
and prints each retry; offline users need one sentence, at once.
"""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlparse


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the Hub endpoint accepts a TCP connection; False when offline mode is set."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1":
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False
