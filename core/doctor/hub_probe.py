"""Is the Hugging Face Hub reachable? One HEAD probe, started in the background so it overlaps torch's import."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.doctor.report import Check

OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


@dataclass
class HubState:
    """What the probe found, for the preset checks' offline wording."""

    reachable: bool = False
    why: str = ""  # why not, for skip/offline messages
    endpoint: str = "https://huggingface.co"


def _offline_env() -> str | None:
    for var in OFFLINE_VARS:
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on", "y", "t"}:
            return var
    return None


def start_hub_probe() -> Callable[[], tuple[Check, HubState]]:
    """Start the single Hub probe in the background (it overlaps torch's import); the returned
    function waits for it and gives the check."""
    box: dict[str, Any] = {}
    offline = _offline_env()

    def probe() -> None:
        t = time.perf_counter()
        try:
            from core.data import hub

            box["ok"] = hub.hub_reachable(refresh=True)
        except Exception:  # any failure to probe means unreachable
            box["ok"] = False
        box["took"] = time.perf_counter() - t

    thread = None
    if offline is None:
        thread = threading.Thread(target=probe, daemon=True, name="tuner-doctor-hub")
        thread.start()

    def result() -> tuple[Check, HubState]:
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        if offline is not None:
            why = f"{offline} is set"
            return Check(
                "Hub", "skip", f"not probed ({why}); only cached models and datasets are used"
            ), HubState(False, why, endpoint)
        assert thread is not None
        thread.join(30)
        took = box.get("took", 0.0)
        if box.get("ok"):
            return Check("Hub", "pass", f"{endpoint} answered in {took:.1f} s"), HubState(True, "", endpoint)
        why = "the Hub is unreachable"
        return (
            Check(
                "Hub",
                "warn",
                f"{endpoint} did not answer ({took:.1f} s): offline, only cached models and datasets can be used",
                "check the network or proxy (HTTPS_PROXY), or set HF_ENDPOINT to a mirror; offline, copy a Hugging Face cache here",
            ),
            HubState(False, why, endpoint),
        )

    return result
