"""Hugging Face Hub datasets → `Example` rows.

Three layers, so tests can feed local fixtures through the same code as the Hub:

* `HubSpec` / `NORMALIZERS`: which columns hold the instruction, the command, the category and
  alternative commands, for the built-in datasets; `resolve_spec` adds the user's field overrides
  (the generic fallback for any other hub id).
* `normalize_dataset(spec, data, name)`: pure; turns an already loaded `datasets.Dataset` /
  `DatasetDict` (or any mapping split → rows with `column_names`) into a `HubLoadResult`.
* `load_hub_source(hub_id, ...)`: calls `datasets.load_dataset` with a fast offline path, then
  `normalize_dataset`. `iter_text_corpus` streams a plain text column (pre-training corpora).

Offline: before touching the Hub we probe `HF_ENDPOINT` once (short timeout, cached for a little
while). If it cannot be reached, or `HF_HUB_OFFLINE`/`HF_DATASETS_OFFLINE` is set, `datasets` is
run in offline mode, which reads the local cache and fails at once when the dataset is not there
(instead of `huggingface_hub`'s ~25 s of retries). Only `DataError` ever escapes this module.

`datasets` / `huggingface_hub` are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, overload

from core.data.records import Example, Rejected
from core.errors import DataError

__all__ = [
    "NORMALIZERS",
    "HubLoadResult",
    "HubSpec",
    "HubStream",
    "default_source_name",
    "hub_reachable",
    "iter_text_corpus",
    "load_hub_source",
    "map_split_name",
    "normalize_dataset",
    "resolve_spec",
]

PRESET_ENTRY = "the preset's [[data.sources]] entry"


# ---------------------------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubSpec:
    """How one Hub dataset's columns map onto `Example` fields.

    `config_splits`: for datasets whose *configs* are the splits (NL2SH-ALFA has configs
    "train" and "test", each with a single HF split called "train"): config → split label.
    With `config=None` every listed config is loaded. `alternative_fields` are optional columns
    holding other valid commands (kept in `HubLoadResult.alternatives`, keyed by row_id).
    """

    hub_id: str
    instruction_field: str | None
    command_field: str | None
    category_field: str | None = None
    alternative_fields: tuple[str, ...] = ()
    config_splits: Mapping[str, str] | None = None
    builtin: bool = False


NORMALIZERS: dict[str, HubSpec] = {
    spec.hub_id: spec
    for spec in (
        HubSpec(
            "AnishJoshi/nl2bash-custom",
            instruction_field="nl_command",
            command_field="bash_code",
            builtin=True,
        ),
        HubSpec(
            "epinnock/intercode-nl2bash-curated",
            instruction_field="query",
            command_field="gold",
            builtin=True,
        ),
        HubSpec(
            "darkknight25/Linux_Terminal_Commands_Dataset",
            instruction_field="description",
            command_field="command",
            category_field="category",
            builtin=True,
        ),
        HubSpec(
            "westenfelder/NL2SH-ALFA",
            instruction_field="nl",
            command_field="bash",
            alternative_fields=("bash2",),
            config_splits={"train": "train", "test": "test"},
            builtin=True,
        ),
    )
}


def resolve_spec(
    hub_id: str,
    *,
    instruction_field: str | None = None,
    command_field: str | None = None,
    category_field: str | None = None,
) -> HubSpec:
    """The built-in spec for `hub_id` (case-insensitive) with the user's field names on top;
    for any other id a generic spec made of the user's field names (None = not set yet)."""
    base = NORMALIZERS.get(hub_id)
    if base is None:
        lowered = {k.lower(): v for k, v in NORMALIZERS.items()}
        base = lowered.get(hub_id.lower())
    if base is None:
        base = HubSpec(hub_id, instruction_field=None, command_field=None)
    overrides: dict[str, Any] = {}
    if instruction_field:
        overrides["instruction_field"] = instruction_field
    if command_field:
        overrides["command_field"] = command_field
    if category_field:
        overrides["category_field"] = category_field
    return replace(base, **overrides) if overrides else base


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class HubLoadResult:
    """What a Hub source yielded: examples, alternative commands per row_id, refused rows.

    `splits` counts the rows read per source split (row-id part, e.g. "train", "validation").
    """

    examples: list[Example] = field(default_factory=list)
    alternatives: dict[str, list[str]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)

    def extend(self, other: HubLoadResult) -> None:
        """Append another result (e.g. a second config of the same dataset)."""
        self.examples.extend(other.examples)
        self.alternatives.update(other.alternatives)
        self.rejected.extend(other.rejected)
        for key, n in other.splits.items():
            self.splits[key] = self.splits.get(key, 0) + n


# ---------------------------------------------------------------------------------------------
# Normalization (pure)
# ---------------------------------------------------------------------------------------------

_SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "validation": "val",
    "valid": "val",
    "val": "val",
    "dev": "val",
    "development": "val",
    "test": "test",
    "testing": "test",
}

_INSTRUCTION_GUESSES = (
    "instruction",
    "nl",
    "nl_command",
    "query",
    "description",
    "prompt",
    "question",
    "input",
    "text",
)
_COMMAND_GUESSES = (
    "command",
    "cmd",
    "bash",
    "bash_code",
    "gold",
    "code",
    "shell",
    "output",
    "answer",
    "response",
)
_CATEGORY_GUESSES = ("category", "type", "label", "tag", "topic")


def map_split_name(split: str | None) -> str | None:
    """The source's split name as a tuner split label: train / val / test, else None.

    Slice syntax is ignored ("train[:10%]" → "train")."""
    if split is None:
        return None
    base = _split_base(split)
    return _SPLIT_NAMES.get(base.lower())


def _split_base(split: str) -> str:
    return str(split).split("[", 1)[0].strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def default_source_name(hub_id: str) -> str:
    """Short source name: the last component of the hub id, slugged ("NL2SH-ALFA" → "nl2sh-alfa")."""
    return _slug(hub_id.rstrip("/").rsplit("/", 1)[-1]) or _slug(hub_id) or "hub"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas-backed CSV loading
        return ""
    return (value if isinstance(value, str) else str(value)).strip()


def _alternatives(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [t for v in value if (t := _text(v))]
    t = _text(value)
    return [t] if t else []


def _describe(hub_id: str, config: str | None, split: str | None) -> str:
    where = [f"config '{config}'"] if config else []
    if split:
        where.append(f"split '{split}'")
    return f"Hugging Face dataset '{hub_id}'" + (f" ({', '.join(where)})" if where else "")


def _check_columns(spec: HubSpec, columns: Iterable[str], *, config: str | None, split: str) -> None:
    """Raise DataError naming the dataset, the missing field, the available columns and the fix."""
    cols = list(columns)
    available = ", ".join(cols) if cols else "(none)"
    what = _describe(spec.hub_id, config, split)
    if spec.instruction_field is None or spec.command_field is None:
        inst = _guess(cols, _INSTRUCTION_GUESSES) or "<column>"
        cmd = _guess(cols, _COMMAND_GUESSES) or "<column>"
        raise DataError(
            f"{what} has no built-in normalizer and no instruction_field/command_field is set; "
            f"available columns: {available}",
            hint=f'set instruction_field = "{inst}" and command_field = "{cmd}" in {PRESET_ENTRY}',
        )
    for key, col, guesses in (
        ("instruction_field", spec.instruction_field, _INSTRUCTION_GUESSES),
        ("command_field", spec.command_field, _COMMAND_GUESSES),
        ("category_field", spec.category_field, _CATEGORY_GUESSES),
    ):
        if col is None or col in cols:
            continue
        guess = _guess(cols, guesses) or "<column>"
        raise DataError(
            f"{what} has no column '{col}' ({key}); available columns: {available}",
            hint=f'set {key} = "{guess}" in {PRESET_ENTRY}',
        )


def _guess(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand in lowered:
            return lowered[cand]
    return None


def _column_names(ds: Any) -> list[str] | None:
    cols = getattr(ds, "column_names", None)
    if cols is None:
        return None
    if isinstance(cols, Mapping):  # a DatasetDict's column_names is per split
        return None
    return list(cols)


def _split_items(data: Any, source_split: str | None) -> tuple[list[tuple[str, Any]], bool]:
    """[(split name, dataset)], and whether `data` held all of the source's splits (a dict)."""
    if isinstance(data, Mapping):
        return [(str(k), v) for k, v in data.items()], True
    name = source_split or (str(data.split) if getattr(data, "split", None) is not None else None) or "train"
    return [(_split_base(name), data)], False


def _label_for(split_name: str, *, forced: str | None, whole: bool, n_splits: int) -> str | None:
    if forced is not None:
        return forced
    if whole and n_splits == 1 and split_name.lower() == "train":
        # The Hub calls an unsplit dataset's only split "train": not a real split, so leave
        # the rows unassigned and let the pipeline split them.
        return None
    return map_split_name(split_name)


def _iter_split(
    spec: HubSpec,
    ds: Any,
    *,
    name: str,
    config: str | None,
    split_name: str,
    part: str,
    label: str | None,
    alternatives: dict[str, list[str]],
    rejected: list[Rejected],
    counts: dict[str, int],
) -> Iterator[Example]:
    """Normalize one split's rows; refused rows go to `rejected`, alternatives to `alternatives`."""
    cols = _column_names(ds)
    if cols is not None:
        _check_columns(spec, cols, config=config, split=split_name)
    checked = cols is not None
    inst_f, cmd_f, cat_f = spec.instruction_field, spec.command_field, spec.category_field
    for index, row in enumerate(ds):
        if not checked:  # streaming datasets may not know their columns until the first row
            _check_columns(spec, list(row.keys()), config=config, split=split_name)
            checked = True
        counts[part] = counts.get(part, 0) + 1
        row_id = f"{name}/{part}#{index}"
        instruction = _text(row.get(inst_f))
        command = _text(row.get(cmd_f))
        if not instruction or not command:
            rejected.append(
                Rejected(
                    step="load",
                    reason="empty instruction" if not instruction else "empty command",
                    source=name,
                    row_id=row_id,
                    instruction=instruction,
                    command=command,
                )
            )
            continue
        alts: list[str] = []
        for alt_field in spec.alternative_fields:
            for alt in _alternatives(row.get(alt_field)):
                if alt != command and alt not in alts:
                    alts.append(alt)
        if alts:
            alternatives[row_id] = alts
        yield Example(
            instruction=instruction,
            command=command,
            source=name,
            row_id=row_id,
            category=_slug(_text(row.get(cat_f))) if cat_f else "",
            split=label,
        )
    if not checked:  # an empty streaming split: nothing to check, nothing read
        counts.setdefault(part, 0)


def normalize_dataset(
    spec: HubSpec,
    data: Any,
    name: str | None = None,
    *,
    config: str | None = None,
    source_split: str | None = None,
    split_label: str | None = None,
) -> HubLoadResult:
    """Normalize a loaded `Dataset` / `DatasetDict` (or mapping split → dataset) into examples.

    * A dict/DatasetDict is "all of the source's splits": each row's `Example.split` is its split
      mapped (train→"train", validation/valid/dev→"val", test→"test", others → None); a lone
      split named "train" (the Hub's name for unsplit data) gives split=None.
    * A single Dataset is the split the user asked for (`source_split`, else `ds.split`); its rows
      are tagged with that split mapped.
    * `split_label` forces the label for every row (datasets whose configs are the splits).

    Row ids are f"{name}/{part}#{index}" with `part` the source split name (or `split_label`).
    Empty instruction/command → `Rejected(step="load")`. Missing columns → DataError.
    """
    name = name or default_source_name(spec.hub_id)
    result = HubLoadResult()
    items, whole = _split_items(data, source_split)
    for split_name, ds in items:
        label = _label_for(split_name, forced=split_label, whole=whole, n_splits=len(items))
        part = split_label or split_name
        result.examples.extend(
            _iter_split(
                spec,
                ds,
                name=name,
                config=config,
                split_name=split_name,
                part=part,
                label=label,
                alternatives=result.alternatives,
                rejected=result.rejected,
                counts=result.splits,
            )
        )
    return result


class HubStream:
    """Lazily normalized rows of a streamed (IterableDataset) Hub source.

    Iterating yields `Example`s; `rejected` and `alternatives` fill up as rows are read.
    `collect(limit)` reads (up to `limit` examples) into a `HubLoadResult`.
    """

    def __init__(
        self,
        spec: HubSpec,
        parts: list[tuple[Any, str | None, str | None, str | None]],
        name: str,
    ) -> None:
        # parts: (data, config, requested split, forced split label); data is an IterableDataset
        # (the requested split) or a dict of them (all splits)
        self.spec = spec
        self.name = name
        self._parts = parts
        self.alternatives: dict[str, list[str]] = {}
        self.rejected: list[Rejected] = []
        self.splits: dict[str, int] = {}

    def __iter__(self) -> Iterator[Example]:
        for data, config, source_split, forced in self._parts:
            items, whole = _split_items(data, source_split)
            for split_name, ds in items:
                rows = _iter_split(
                    self.spec,
                    ds,
                    name=self.name,
                    config=config,
                    split_name=split_name,
                    part=forced or split_name,
                    label=_label_for(split_name, forced=forced, whole=whole, n_splits=len(items)),
                    alternatives=self.alternatives,
                    rejected=self.rejected,
                    counts=self.splits,
                )
                yield from _guard_iteration(rows, self.spec.hub_id, config, split_name, streaming=True)

    def collect(self, limit: int | None = None) -> HubLoadResult:
        result = HubLoadResult(alternatives=self.alternatives, rejected=self.rejected, splits=self.splits)
        for ex in self:
            result.examples.append(ex)
            if limit is not None and len(result.examples) >= limit:
                break
        return result


# ---------------------------------------------------------------------------------------------
# Loading from the Hub
# ---------------------------------------------------------------------------------------------

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
    except Exception:  # pragma: no cover - huggingface_hub missing
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
    except Exception:
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
    except Exception:  # pragma: no cover
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
    try:
        import huggingface_hub.constants as hconst

        return str(hconst.HF_HOME)
    except Exception:  # pragma: no cover
        return os.environ.get("HF_HOME", "~/.cache/huggingface")


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
    except Exception:  # pragma: no cover
        DatasetNotFoundError = ()  # type: ignore[assignment,misc]
    not_found = isinstance(exc, DatasetNotFoundError)  # type: ignore[arg-type]
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
        f"{_describe(hub_id, config, split)} could not be loaded: {type(exc).__name__}: {_first_line(exc)}"
    )


def _load_dataset(hub_id: str, config: str | None, split: str | None, streaming: bool) -> Any:
    """`datasets.load_dataset` with the fast offline path; only DataError escapes.

    Tests replace this function to feed local fixtures through `load_hub_source`."""
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
    except Exception as exc:  # noqa: BLE001 - everything becomes one DataError line
        raise _to_data_error(
            exc, hub_id, config, split, offline_why=offline_why, streaming=streaming
        ) from None


def _guard_iteration(
    rows: Iterator[Any], hub_id: str, config: str | None, split: str | None, *, streaming: bool
) -> Iterator[Any]:
    """Re-raise failures while reading rows (a stream losing its connection) as DataError."""
    try:
        yield from rows
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _to_data_error(exc, hub_id, config, split, offline_why=None, streaming=streaming) from None


def _plan(
    spec: HubSpec, config: str | None, split: str | None
) -> list[tuple[str | None, str | None, str | None]]:
    """[(config, split to request, forced split label)] for one source."""
    if not spec.config_splits:
        return [(config, split, None)]
    known = ", ".join(f"'{c}'" for c in spec.config_splits)
    if config is not None:
        if config not in spec.config_splits:
            raise DataError(
                f"Hugging Face dataset '{spec.hub_id}' has no config '{config}'; known configs: {known}",
                hint=f"set config to one of {known} (or leave it out to load them all) in {PRESET_ENTRY}",
            )
        return [(config, split, spec.config_splits[config])]
    if split is None:
        return [(cfg, None, label) for cfg, label in spec.config_splits.items()]
    wanted = map_split_name(split) or _split_base(split)
    chosen = [
        (cfg, label)
        for cfg, label in spec.config_splits.items()
        if label == wanted or cfg == _split_base(split)
    ]
    if not chosen:
        raise DataError(
            f"Hugging Face dataset '{spec.hub_id}' keeps its splits as configs ({known}); split '{split}' is none of them",
            hint=f"set config (or split) to one of {known} in {PRESET_ENTRY}",
        )
    return [(cfg, None, label) for cfg, label in chosen]


@overload
def load_hub_source(
    hub_id: str,
    *,
    config: str | None = ...,
    split: str | None = ...,
    instruction_field: str | None = ...,
    command_field: str | None = ...,
    category_field: str | None = ...,
    streaming: Literal[False] = ...,
    name: str | None = ...,
) -> HubLoadResult: ...


@overload
def load_hub_source(
    hub_id: str,
    *,
    config: str | None = ...,
    split: str | None = ...,
    instruction_field: str | None = ...,
    command_field: str | None = ...,
    category_field: str | None = ...,
    streaming: Literal[True],
    name: str | None = ...,
) -> HubStream: ...


@overload
def load_hub_source(
    hub_id: str,
    *,
    config: str | None = ...,
    split: str | None = ...,
    instruction_field: str | None = ...,
    command_field: str | None = ...,
    category_field: str | None = ...,
    streaming: bool = ...,
    name: str | None = ...,
) -> HubLoadResult | HubStream: ...


def load_hub_source(
    hub_id: str,
    *,
    config: str | None = None,
    split: str | None = None,
    instruction_field: str | None = None,
    command_field: str | None = None,
    category_field: str | None = None,
    streaming: bool = False,
    name: str | None = None,
) -> HubLoadResult | HubStream:
    """Load a Hub dataset as `Example`s (built-in normalizer or the given field names).

    `split=None` loads every split (see `normalize_dataset` for the split labels). For datasets
    whose configs are the splits (NL2SH-ALFA), `config=None` loads every config, and
    `split="test"` picks the "test" config. `streaming=True` returns a lazy `HubStream`.
    Offline with no cached copy → DataError (one sentence), within a few seconds.
    """
    spec = resolve_spec(
        hub_id,
        instruction_field=instruction_field,
        command_field=command_field,
        category_field=category_field,
    )
    name = name or default_source_name(hub_id)
    plan = _plan(spec, config, split)
    if streaming:
        parts = [(_load_dataset(hub_id, cfg, req, True), cfg, req, forced) for cfg, req, forced in plan]
        return HubStream(spec, parts, name)
    result = HubLoadResult()
    for cfg, req_split, forced in plan:
        data = _load_dataset(hub_id, cfg, req_split, False)
        part = normalize_dataset(spec, data, name, config=cfg, source_split=req_split, split_label=forced)
        result.extend(part)
    return result


def iter_text_corpus(
    hub_id: str,
    config: str | None = None,
    split: str | None = "train",
    text_field: str = "text",
    streaming: bool = True,
) -> Iterator[str]:
    """Texts of a Hub corpus (e.g. "EleutherAI/pile", or "allenai/c4" with config "en").

    Loads eagerly (so an offline/unknown dataset raises DataError here, not at the first
    `next`), then yields the non-empty `text_field` values. A missing text column → DataError
    naming the available columns. `split=None` reads every split in turn.
    """
    data = _load_dataset(hub_id, config, split, streaming)
    items, _whole = _split_items(data, split)
    for split_name, ds in items:
        cols = _column_names(ds)
        if cols is not None and text_field not in cols:
            raise _text_field_error(hub_id, config, split_name, text_field, cols)
    return _iter_texts(hub_id, config, items, text_field, streaming)


def _text_field_error(
    hub_id: str, config: str | None, split: str, text_field: str, cols: list[str]
) -> DataError:
    guess = _guess(cols, ("text", "content", "document", "body", "raw_content")) or "<column>"
    return DataError(
        f"{_describe(hub_id, config, split)} has no column '{text_field}' (text_field); "
        f"available columns: {', '.join(cols) or '(none)'}",
        hint=f'set text_field = "{guess}" in {PRESET_ENTRY}',
    )


def _iter_texts(
    hub_id: str, config: str | None, items: list[tuple[str, Any]], text_field: str, streaming: bool
) -> Iterator[str]:
    for split_name, ds in items:

        def rows(ds: Any = ds, split_name: str = split_name) -> Iterator[str]:
            checked = False
            for row in ds:
                if not checked:
                    if text_field not in row:
                        raise _text_field_error(hub_id, config, split_name, text_field, list(row.keys()))
                    checked = True
                value = row.get(text_field)
                if isinstance(value, str) and value.strip():
                    yield value

        yield from _guard_iteration(rows(), hub_id, config, split_name, streaming=streaming)
