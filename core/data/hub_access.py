"""One `datasets.load_dataset` call with a fast offline path; every failure becomes one DataError line.

Before touching the Hub we probe `HF_ENDPOINT` once (short timeout, cached for a little while). If
it cannot be reached, or `HF_HUB_OFFLINE`/`HF_DATASETS_OFFLINE` is set, `datasets` is run in offline
mode, which reads the local cache and fails at once when the dataset is not there (instead of
`huggingface_hub`'s ~25 s of retries). Only `DataError` ever escapes this module.

`datasets` / `huggingface_hub` are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from core.data.hub_normalize import describe_source
from core.errors import DataError

__all__ = ["guard_iteration", "hub_reachable", "open_hub_dataset"]

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_PROBE_TTL_S = 30.0
_probe_cache: dict[str, tuple[float, bool]] = {}


def _probe_timeout() -> float:
    try:
        return float(os.environ.get("TUNER_HUB_PROBE_TIMEOUT", "3"))
    except ValueError:
        return 3.0


def _endpoint() -> str:
    try:  # huggingface_hub's constant honours HF_ENDPOINT and is cheap to import (datasets is not)
        import huggingface_hub.constants as hconst

        return str(hconst.ENDPOINT)
    except Exception:  # pragma: no cover - huggingface_hub missing: the probe then fails anyway
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_reachable(timeout: float | None = None, *, refresh: bool = False) -> bool:
    """Whether the Hub endpoint answers an HTTP HEAD with a non-error status within `timeout` s
    (default 3 s, env TUNER_HUB_PROBE_TIMEOUT); one try, no retries, through the hub client's
    session (its proxy settings). The answer is cached for 30 s per endpoint."""
    endpoint = _endpoint()
    now = time.monotonic()
    cached = _probe_cache.get(endpoint)
    if cached is not None and not refresh and now - cached[0] < _PROBE_TTL_S:
        return cached[1]
    ok = False
    try:
        from huggingface_hub.utils import get_session

        response = get_session().head(endpoint, timeout=timeout if timeout is not None else _probe_timeout())
        # An interception proxy / captive portal answers too, typically with 4xx/5xx: not the Hub.
        ok = response.status_code < 400
    except Exception:  # any failure to get an answer means "not reachable"
        ok = False
    _probe_cache[endpoint] = (time.monotonic(), ok)
    return ok


def _offline_requested() -> bool:
    """HF_HUB_OFFLINE / HF_DATASETS_OFFLINE / TRANSFORMERS_OFFLINE, read now (not at import)."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return True
    try:
        import datasets.config as dconfig
        import huggingface_hub.constants as hconst

        return bool(
            hconst.HF_HUB_OFFLINE
            or getattr(dconfig, "HF_HUB_OFFLINE", False)
            or getattr(dconfig, "HF_DATASETS_OFFLINE", False)
        )
    except Exception:  # pragma: no cover - libraries missing: nothing else asked for offline
        return False


@contextlib.contextmanager
def _offline_mode() -> Iterator[None]:
    """Run `datasets`/`huggingface_hub` in offline mode (cache only, no HTTP) for a while.

    Both libraries read their offline flags at import, so setting the env var now is not enough:
    patch the module-level flags and restore them afterwards."""
    import datasets.config as dconfig
    import huggingface_hub.constants as hconst

    # datasets < 3 calls its flag HF_DATASETS_OFFLINE; newer ones HF_HUB_OFFLINE (+ the old alias)
    targets = [(hconst, "HF_HUB_OFFLINE")] + [
        (dconfig, attr) for attr in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if hasattr(dconfig, attr)
    ]
    saved = [(mod, attr, getattr(mod, attr)) for mod, attr in targets]
    for mod, attr in targets:
        setattr(mod, attr, True)
    try:
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)


def _hf_home() -> str:
    """HF_HOME as huggingface_hub resolves it now (env, then XDG_CACHE_HOME, then ~/.cache)."""
    from core.hf_paths import hf_home

    return str(hf_home())


def _load_call(hub_id: str, config: str | None, split: str | None) -> str:
    args = [repr(hub_id)] + ([repr(config)] if config else []) + ([f"split={split!r}"] if split else [])
    return f"datasets.load_dataset({', '.join(args)})"


def _offline_error(hub_id: str, config: str | None, split: str | None, why: str) -> DataError:
    cfg = f" (config '{config}')" if config else ""
    return DataError(
        f"Hugging Face dataset '{hub_id}'{cfg} is not in the local cache (HF_HOME={_hf_home()}) "
        f"and the Hub cannot be reached ({why}); download it on a machine with internet "
        f"({_load_call(hub_id, config, split)}), copy the cache and set HF_HOME, "
        f'or point the preset at a local file with kind = "file"'
    )


_HTTP_MODULES = {"httpx", "httpx2", "httpcore", "requests", "urllib3", "aiohttp"}


def _network_failure(exc: BaseException) -> bool:
    """Connection/offline/timeout family, whichever HTTP stack raised it."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if (type(exc).__module__ or "").split(".")[0] in _HTTP_MODULES:
        return True
    cause = exc.__cause__ or exc.__context__
    for _ in range(8):  # follow the chain a little: datasets wraps the HTTP error
        if cause is None:
            return False
        if (
            isinstance(cause, (ConnectionError, TimeoutError))
            or (type(cause).__module__ or "").split(".")[0] in _HTTP_MODULES
        ):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _to_data_error(
    exc: Exception,
    hub_id: str,
    config: str | None,
    split: str | None,
    *,
    offline_why: str | None,
    streaming: bool,
) -> DataError:
    if isinstance(exc, DataError):
        return exc
    try:
        from datasets.exceptions import DatasetNotFoundError
    except Exception:  # pragma: no cover - an old datasets without it: nothing matches
        DatasetNotFoundError = ()
    not_found = isinstance(exc, DatasetNotFoundError)
    if offline_why is not None and (
        not_found or isinstance(exc, (OSError, FileNotFoundError)) or _network_failure(exc)
    ):
        return _offline_error(hub_id, config, split, offline_why)
    if _network_failure(exc):
        why = f"the request to {_endpoint()} failed with {type(exc).__name__}"
        if streaming:
            why += "; streaming reads from the Hub"
        return _offline_error(hub_id, config, split, why)
    if not_found:
        return DataError(
            f"Hugging Face dataset '{hub_id}' was not found on the Hub; check the id, or for a gated/private "
            f"dataset accept its terms and log in (`hf auth login` or HF_TOKEN)"
        )
    return DataError(
        f"{describe_source(hub_id, config, split)} could not be loaded: {type(exc).__name__}: {_first_line(exc)}"
    )


def open_hub_dataset(hub_id: str, config: str | None, split: str | None, streaming: bool) -> Any:
    """`datasets.load_dataset` with the fast offline path; only DataError escapes.

    Tests replace this function to feed local fixtures through the loaders."""
    try:
        import datasets
    except ImportError as exc:
        raise DataError(
            f"Loading Hugging Face dataset '{hub_id}' needs the `datasets` package ({exc}); "
            f"install it with `pip install datasets`"
        ) from None

    offline_why: str | None = None
    if _offline_requested():
        offline_why = "offline mode is on: HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set"
    elif not hub_reachable():
        offline_why = f"{_endpoint()} is unreachable"

    try:
        if offline_why is None:
            return datasets.load_dataset(hub_id, config, split=split, streaming=streaming)
        with _offline_mode():
            # Offline, streaming cannot reach the Hub: read the cached copy instead (a Dataset
            # iterates like an IterableDataset for our callers).
            return datasets.load_dataset(hub_id, config, split=split)
    except Exception as exc:  # everything becomes one DataError line
        raise _to_data_error(
            exc, hub_id, config, split, offline_why=offline_why, streaming=streaming
        ) from None


def guard_iteration(
    rows: Iterator[Any], hub_id: str, config: str | None, split: str | None, *, streaming: bool
) -> Iterator[Any]:
    """Re-raise failures while reading rows (a stream losing its connection) as DataError."""
    try:
        yield from rows
    except DataError:
        raise
    except Exception as exc:  # a lost connection mid-stream, or whatever datasets raises: one line
        raise _to_data_error(exc, hub_id, config, split, offline_why=None, streaming=streaming) from None
