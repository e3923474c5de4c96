"""Run one slow doctor step (a Hub query, a tokenizer load) under a timeout, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

DEFAULT_TIMEOUT_S = 30.0


def run_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """fn() in a daemon thread; TimeoutError if it has not finished within `timeout` s.

    The thread is abandoned on timeout: network calls cannot be interrupted, but the doctor goes on.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, daemon=True, name="tuner-doctor")
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")
