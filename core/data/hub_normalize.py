"""Loaded Hub rows → `Example`s (pure): column checks, split labels, refused rows, alternatives.

`normalize_dataset(spec, data, name)` turns an already loaded `datasets.Dataset` / `DatasetDict`
(or any mapping split → rows with `column_names`) into a `HubLoadResult`; `normalized_splits`
does the same lazily, split by split, for streamed sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.data.hub_specs import PRESET_ENTRY, HubSpec, default_source_name, map_split_name, slug, split_base
from core.data.records import Example, Rejected
from core.errors import DataError

__all__ = [
    "HubLoadResult",
    "column_names",
    "describe_source",
    "guess_column",
    "normalize_dataset",
    "normalized_splits",
    "split_items",
]


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


def describe_source(hub_id: str, config: str | None, split: str | None) -> str:
    """The dataset as error messages name it: Hugging Face dataset 'id' (config 'c', split 's')."""
    where = [f"config '{config}'"] if config else []
    if split:
        where.append(f"split '{split}'")
    return f"Hugging Face dataset '{hub_id}'" + (f" ({', '.join(where)})" if where else "")


def _check_columns(spec: HubSpec, columns: Iterable[str], *, config: str | None, split: str) -> None:
    """Raise DataError naming the dataset, the missing field, the available columns and the fix."""
    cols = list(columns)
    available = ", ".join(cols) if cols else "(none)"
    what = describe_source(spec.hub_id, config, split)
    if spec.instruction_field is None or spec.command_field is None:
        inst = guess_column(cols, _INSTRUCTION_GUESSES) or "<column>"
        cmd = guess_column(cols, _COMMAND_GUESSES) or "<column>"
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
        guess = guess_column(cols, guesses) or "<column>"
        raise DataError(
            f"{what} has no column '{col}' ({key}); available columns: {available}",
            hint=f'set {key} = "{guess}" in {PRESET_ENTRY}',
        )


def guess_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first of `candidates` among `columns` (case-insensitive), as the dataset spells it."""
    lowered = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand in lowered:
            return lowered[cand]
    return None


def column_names(ds: Any) -> list[str] | None:
    """A split's column names, or None when unknown (a stream before its first row, a DatasetDict)."""
    cols = getattr(ds, "column_names", None)
    if cols is None:
        return None
    if isinstance(cols, Mapping):  # a DatasetDict's column_names is per split
        return None
    return list(cols)


def split_items(data: Any, source_split: str | None) -> tuple[list[tuple[str, Any]], bool]:
    """[(split name, dataset)], and whether `data` held all of the source's splits (a dict)."""
    if isinstance(data, Mapping):
        return [(str(k), v) for k, v in data.items()], True
    name = source_split or (str(data.split) if getattr(data, "split", None) is not None else None) or "train"
    return [(split_base(name), data)], False


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
    cols = column_names(ds)
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
            category=slug(_text(row.get(cat_f))) if cat_f else "",
            split=label,
        )
    if not checked:  # an empty streaming split: nothing to check, nothing read
        counts.setdefault(part, 0)


def normalized_splits(
    spec: HubSpec,
    data: Any,
    name: str,
    *,
    config: str | None,
    source_split: str | None,
    split_label: str | None,
    into: HubLoadResult,
) -> Iterator[tuple[str, Iterator[Example]]]:
    """(split name, lazily normalized rows) per split of `data`; refused rows, alternatives and
    per-split counts go to `into` as the rows are read (see `normalize_dataset` for the labels)."""
    items, whole = split_items(data, source_split)
    for split_name, ds in items:
        rows = _iter_split(
            spec,
            ds,
            name=name,
            config=config,
            split_name=split_name,
            part=split_label or split_name,
            label=_label_for(split_name, forced=split_label, whole=whole, n_splits=len(items)),
            alternatives=into.alternatives,
            rejected=into.rejected,
            counts=into.splits,
        )
        yield split_name, rows


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
    result = HubLoadResult()
    for _split_name, rows in normalized_splits(
        spec,
        data,
        name or default_source_name(spec.hub_id),
        config=config,
        source_split=source_split,
        split_label=split_label,
        into=result,
    ):
        result.examples.extend(rows)
    return result
