"""Read the preset's sources into `Example` rows: the bundled set, local files, Hub datasets.

Every row that cannot be used is returned as a `Rejected` with file and line; a problem that
makes the whole source unusable (missing file, missing column, empty file) is a `DataError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from core.config.schema import SourceCfg
from core.data.records import Example, Rejected
from core.errors import DataError

# A line longer than this is rejected unread: no NL→bash pair is a megabyte long, and parsing a
# 50 MB line as JSON only to throw it away costs seconds.
MAX_LINE_BYTES = 1 << 20

INSTRUCTION_ALIASES = (
    "instruction",
    "nl",
    "nl_command",
    "query",
    "description",
    "prompt",
    "question",
    "input",
)
COMMAND_ALIASES = ("command", "cmd", "bash", "bash_code", "gold", "code", "output", "response", "answer")
CATEGORY_ALIASES = ("category", "utility", "topic")
SPLIT_NAMES = {
    "train": "train",
    "validation": "val",
    "valid": "val",
    "val": "val",
    "dev": "val",
    "test": "test",
}


@dataclass
class SourceResult:
    """What one source yielded."""

    name: str
    examples: list[Example]
    rejected: list[Rejected] = field(default_factory=list)
    alternatives: dict[str, list[str]] = field(default_factory=dict)  # row_id → other valid commands


def bundled_dataset_path() -> Path:
    """The NL→bash pairs that ship with tuner."""
    return Path(str(resources.files("assets"))) / "datasets" / "bash_pairs.jsonl"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (used to key caches)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_path(raw: str, base_dir: Path | None) -> Path:
    """A source path: absolute, relative to the working directory, or relative to the preset file."""
    p = Path(raw).expanduser()
    if p.is_absolute() or p.exists() or base_dir is None:
        return p
    alt = base_dir / p
    return alt if alt.exists() else p


def source_name(cfg: SourceCfg) -> str:
    """Short name of a source in reports and row ids."""
    if cfg.name:
        return cfg.name
    if cfg.kind == "bundled":
        return "bundled"
    if cfg.kind == "file":
        return Path(cfg.path or "file").stem
    return (cfg.id or "hub").rstrip("/").split("/")[-1]


def source_fingerprint(cfg: SourceCfg, base_dir: Path | None = None) -> str:
    """What identifies a source's content for the build cache, without parsing it."""
    if cfg.kind == "bundled":
        return "bundled:" + file_sha256(bundled_dataset_path())
    if cfg.kind == "file":
        path = resolve_path(cfg.path or "", base_dir)
        _require_file(path)
        return f"file:{path.resolve()}:{file_sha256(path)}"
    return f"hub:{cfg.id}:{cfg.config}:{cfg.split}"


def load_source(cfg: SourceCfg, base_dir: Path | None = None) -> SourceResult:
    """Load one [[data.sources]] entry."""
    name = source_name(cfg)
    if cfg.kind == "hub":
        from core.data.hub import load_hub_source

        res = load_hub_source(
            cfg.id or "",
            config=cfg.config,
            split=cfg.split,
            instruction_field=cfg.instruction_field,
            command_field=cfg.command_field,
            category_field=cfg.category_field,
            name=name,
        )
        result = SourceResult(name, res.examples, res.rejected, res.alternatives)
    else:
        path = bundled_dataset_path() if cfg.kind == "bundled" else resolve_path(cfg.path or "", base_dir)
        result = SourceResult(name, *_load_table(path, cfg, name))
    if cfg.role == "test":
        for ex in result.examples:
            ex.split = "test"
    if cfg.limit is not None:
        extra = result.examples[cfg.limit :]
        result.examples = result.examples[: cfg.limit]
        result.rejected += [
            Rejected("limit", f"beyond limit = {cfg.limit}", ex.source, ex.row_id, ex.instruction, ex.command)
            for ex in extra
        ]
    return result


def _require_file(path: Path) -> None:
    """A data file that exists and is a file (a folder is named as one, not as missing)."""
    if path.is_dir():
        raise DataError(
            f"data file {str(path)!r} is a directory",
            hint="point [[data.sources]] path at a .jsonl/.json/.csv/.parquet file in it",
        )
    if not path.is_file():
        raise DataError(
            f"data file {str(path)!r} does not exist", hint="fix [[data.sources]] path in the preset"
        )


def _load_table(path: Path, cfg: SourceCfg, name: str) -> tuple[list[Example], list[Rejected]]:
    _require_file(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty", hint="point the source at a file with rows")
    fmt = cfg.format if cfg.format != "auto" else _format_from_suffix(path)
    rejected: list[Rejected] = []
    if fmt == "jsonl":
        rows = _iter_jsonl(path, name, rejected)
    elif fmt == "json":
        rows = _iter_json(path)
    elif fmt == "csv":
        rows = _iter_csv(path)
    else:
        rows = _iter_parquet(path)
    examples = _rows_to_examples(rows, path, cfg, name, rejected)
    if not examples and not rejected:
        raise DataError(f"{path}: no rows", hint="point the source at a file with rows")
    return examples, rejected


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
    if suffix not in formats:
        raise DataError(
            f"{path}: cannot tell the format from the suffix {suffix!r}",
            hint='set format = "jsonl" | "json" | "csv" | "parquet" in the source entry',
        )
    return formats[suffix]


def _iter_jsonl(path: Path, name: str, rejected: list[Rejected]) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            row_id = f"{path.name}:{lineno}"
            if len(raw) > MAX_LINE_BYTES:
                rejected.append(
                    Rejected("load", f"line is {len(raw):,} bytes (limit {MAX_LINE_BYTES:,})", name, row_id)
                )
                continue
            if not raw.strip():
                continue  # blank lines carry no row
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                rejected.append(Rejected("load", f"not UTF-8 (byte {e.start} of the line)", name, row_id))
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                rejected.append(
                    Rejected("load", f"malformed JSON: {e.msg} at column {e.colno}", name, row_id)
                )
                continue
            if not isinstance(obj, dict):
                rejected.append(
                    Rejected("load", f"expected a JSON object, got {type(obj).__name__}", name, row_id)
                )
                continue
            yield lineno, obj


def _iter_json(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 (byte {e.start})", hint="re-encode the file as UTF-8") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: malformed JSON: {e.msg} (column {e.colno})") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataError(f"{path}: expected a list of objects (or one object holding one list)")
        data = lists[0]
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a list of objects, got {type(data).__name__}")
    for i, obj in enumerate(data, 1):
        yield i, obj if isinstance(obj, dict) else {"__not_object__": obj}


def _iter_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8", hint="re-encode the file as UTF-8") from None
    csv.field_size_limit(1 << 30)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        yield reader.line_num, row


def _iter_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a broken file
        raise DataError(f"{path}: cannot read Parquet ({e})") from None
    yield from enumerate(table.to_pylist(), 1)


def _pick_field(configured: str | None, aliases: Iterable[str], keys: Iterable[str]) -> str | None:
    if configured:
        return configured
    keyset = set(keys)
    return next((a for a in aliases if a in keyset), None)


def _rows_to_examples(
    rows: Iterable[tuple[int, dict[str, Any]]],
    path: Path,
    cfg: SourceCfg,
    name: str,
    rejected: list[Rejected],
) -> list[Example]:
    examples: list[Example] = []
    ins_f = cmd_f = cat_f = None
    seen_keys: set[str] = set()
    for lineno, obj in rows:
        row_id = f"{path.name}:{lineno}"
        if "__not_object__" in obj:
            rejected.append(Rejected("load", "expected a JSON object", name, row_id))
            continue
        if ins_f is None or cmd_f is None:
            seen_keys |= set(obj)
            ins_f = _pick_field(cfg.instruction_field, INSTRUCTION_ALIASES, obj)
            cmd_f = _pick_field(cfg.command_field, COMMAND_ALIASES, obj)
            cat_f = _pick_field(cfg.category_field, CATEGORY_ALIASES, obj)
            if ins_f is None or cmd_f is None:
                _raise_missing(path, "instruction" if ins_f is None else "command", sorted(seen_keys))
            seen_keys = set(obj)
        ins, cmd = obj.get(ins_f), obj.get(cmd_f)
        if ins_f not in obj or cmd_f not in obj:
            missing = ins_f if ins_f not in obj else cmd_f
            rejected.append(
                Rejected("load", f"missing field {missing!r}", name, row_id, str(ins or ""), str(cmd or ""))
            )
            continue
        ins = "" if ins is None else str(ins).strip()
        cmd = "" if cmd is None else str(cmd).strip()
        if not ins or not cmd:
            reason = "empty instruction" if not ins else "empty command"
            rejected.append(Rejected("load", reason, name, row_id, ins, cmd))
            continue
        split = obj.get("split")
        examples.append(
            Example(
                instruction=ins,
                command=cmd,
                source=name,
                row_id=row_id,
                category=str(obj.get(cat_f) or "") if cat_f else "",
                split=SPLIT_NAMES.get(str(split).lower()) if split else None,
            )
        )
    if not examples and rejected and all(r.reason.startswith("missing field") for r in rejected):
        # The column is absent from every row: a renamed column, not a few bad rows.
        missing = rejected[0].reason.split("'")[1]
        _raise_missing(path, "instruction" if missing == ins_f else "command", sorted(seen_keys), missing)
    return examples


def _raise_missing(path: Path, what: str, columns: list[str], field_name: str | None = None) -> NoReturn:
    key = f"{what}_field"
    named = f" {field_name!r}" if field_name else ""
    raise DataError(
        f"{path}: no {what} column{named} (columns: {', '.join(columns) or 'none'})",
        hint=f'set {key} = "<column>" in this [[data.sources]] entry',
    )
