"""Plain-text corpora for language modelling (data.task = "text"): streamed, tokenized, cut into blocks.

Sources stream (Hub corpora such as the Pile or C4 through `datasets` streaming, local .txt or
JSONL files, or the bundled pairs rendered as text); texts are joined with the end-of-text token
and cut into blocks of exactly max_seq_len tokens, so every block is full (no padding). The first
blocks are held out for validation and never trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.config.schema import DataCfg, SourceCfg
from core.errors import DataError


def iter_source_texts(src: SourceCfg, base_dir: Path | None = None) -> Iterator[str]:
    """Texts of one source, streamed."""
    if src.kind == "hub":
        from core.data.hub import iter_text_corpus

        yield from iter_text_corpus(
            src.id or "",
            config=src.config,
            split=src.split or "train",
            text_field=src.text_field or "text",
            streaming=True,
        )
        return
    from core.data.sources import bundled_dataset_path, resolve_path

    if src.kind == "bundled":
        with open(bundled_dataset_path(), encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                yield f"# {row['instruction']}\n{row['command']}\n"
        return
    path = resolve_path(src.path or "", base_dir)
    if not path.is_file():
        raise DataError(
            f"data file {str(path)!r} does not exist", hint="fix [[data.sources]] path in the preset"
        )
    field = src.text_field or "text"
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{path}:{lineno}: not UTF-8", hint="re-encode the file as UTF-8") from None
            if path.suffix in (".jsonl", ".ndjson"):
                try:
                    value = json.loads(line).get(field)
                except (json.JSONDecodeError, AttributeError):
                    raise DataError(f"{path}:{lineno}: malformed JSON line") from None
                if value is None:
                    raise DataError(f"{path}:{lineno}: no {field!r} field", hint='set text_field = "<field>"')
                yield str(value)
            elif line.strip():
                yield line


def iter_texts(cfg: DataCfg, base_dir: Path | None = None) -> Iterator[str]:
    """Texts of every source in order."""
    for src in cfg.sources:
        yield from iter_source_texts(src, base_dir)


def iter_blocks(texts: Iterator[str], tokenizer: Any, block: int) -> Iterator[list[int]]:
    """Token blocks of exactly `block` ids from a stream of texts (joined by end-of-text)."""
    eos = tokenizer.eos_token_id
    buf: list[int] = []
    for text in texts:
        buf.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        if eos is not None:
            buf.append(eos)
        while len(buf) >= block:
            yield buf[:block]
            buf = buf[block:]


class TextBlocks:
    """An IterableDataset of micro-batches of full blocks, skipping the held-out validation blocks."""

    def __init__(
        self,
        cfg: DataCfg,
        tokenizer: Any,
        block: int,
        micro_batch: int,
        skip: int,
        base_dir: Path | None = None,
    ) -> None:
        self.cfg, self.tokenizer, self.block = cfg, tokenizer, block
        self.micro_batch, self.skip, self.base_dir = micro_batch, skip, base_dir

    def __iter__(self):
        from core.data.formatting import Encoded

        batch = []
        for i, ids in enumerate(iter_blocks(iter_texts(self.cfg, self.base_dir), self.tokenizer, self.block)):
            if i < self.skip:
                continue
            batch.append(Encoded(ids, list(ids)))
            if len(batch) == self.micro_batch:
                yield batch
                batch = []


def as_iterable_dataset(blocks: TextBlocks) -> Any:
    """Wrap TextBlocks as a torch IterableDataset (imported lazily)."""
    import torch

    class _DS(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(blocks)

    return _DS()


def validation_blocks(
    cfg: DataCfg, tokenizer: Any, block: int, n: int, base_dir: Path | None = None
) -> list[list[int]]:
    """The first `n` blocks of the stream: held out, never trained on."""
    out = []
    for ids in iter_blocks(iter_texts(cfg, base_dir), tokenizer, block):
        out.append(ids)
        if len(out) == n:
            break
    if not out:
        raise DataError("the text corpus yields no full block", hint="lower train.max_seq_len or add text")
    return out


def text_fingerprint(cfg: DataCfg, val: list[list[int]]) -> str:
    """Provenance for a streamed corpus: its sources and a hash of the held-out blocks."""
    h = hashlib.sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode())
    for ids in val:
        h.update(json.dumps(ids).encode())
    return h.hexdigest()
