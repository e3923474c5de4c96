"""Read a Hub dataset lazily: `stream_hub_source` (normalized `Example`s) and `iter_text_corpus`
(the plain text column of a pre-training corpus such as the Pile or C4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.data import hub_access
from core.data.hub_normalize import (
    HubLoadResult,
    column_names,
    describe_source,
    guess_column,
    normalized_splits,
    split_items,
)
from core.data.hub_specs import PRESET_ENTRY, HubSpec, default_source_name, plan_loads, resolve_spec
from core.data.records import Example, Rejected
from core.errors import DataError

__all__ = ["HubStream", "iter_text_corpus", "stream_hub_source"]


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
        into = HubLoadResult(alternatives=self.alternatives, rejected=self.rejected, splits=self.splits)
        for data, config, source_split, forced in self._parts:
            for split_name, rows in normalized_splits(
                self.spec,
                data,
                self.name,
                config=config,
                source_split=source_split,
                split_label=forced,
                into=into,
            ):
                yield from hub_access.guard_iteration(
                    rows, self.spec.hub_id, config, split_name, streaming=True
                )

    def collect(self, limit: int | None = None) -> HubLoadResult:
        """Read the stream (up to `limit` examples) into a `HubLoadResult`."""
        result = HubLoadResult(alternatives=self.alternatives, rejected=self.rejected, splits=self.splits)
        for ex in self:
            result.examples.append(ex)
            if limit is not None and len(result.examples) >= limit:
                break
        return result


def stream_hub_source(
    hub_id: str,
    *,
    config: str | None = None,
    split: str | None = None,
    instruction_field: str | None = None,
    command_field: str | None = None,
    category_field: str | None = None,
    name: str | None = None,
) -> HubStream:
    """`load_hub_source`'s rows as a lazy `HubStream` (datasets streaming; offline, the cached copy).

    The datasets are opened now, so an offline/unknown dataset raises DataError here, not at the
    first row."""
    spec = resolve_spec(
        hub_id,
        instruction_field=instruction_field,
        command_field=command_field,
        category_field=category_field,
    )
    parts = [
        (hub_access.open_hub_dataset(hub_id, cfg, req, True), cfg, req, forced)
        for cfg, req, forced in plan_loads(spec, config, split)
    ]
    return HubStream(spec, parts, name or default_source_name(hub_id))


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
    data = hub_access.open_hub_dataset(hub_id, config, split, streaming)
    items, _whole = split_items(data, split)
    for split_name, ds in items:
        cols = column_names(ds)
        if cols is not None and text_field not in cols:
            raise _text_field_error(hub_id, config, split_name, text_field, cols)
    return _iter_texts(hub_id, config, items, text_field, streaming)


def _text_field_error(
    hub_id: str, config: str | None, split: str, text_field: str, cols: list[str]
) -> DataError:
    guess = guess_column(cols, ("text", "content", "document", "body", "raw_content")) or "<column>"
    return DataError(
        f"{describe_source(hub_id, config, split)} has no column '{text_field}' (text_field); "
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

        yield from hub_access.guard_iteration(rows(), hub_id, config, split_name, streaming=streaming)
