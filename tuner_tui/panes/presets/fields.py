"""The Presets pane's form as data: the editable preset keys, and text ↔ preset values (no Textual).

Each field is one dotted key of a preset; the form shows it as text (sources and LoRA targets as
comma-separated lists) and parses it back with the `--set` rule (a TOML literal, else a string).
"""

from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Field:
    """One editable preset key."""

    key: str  # dotted path in the preset
    label: str
    kind: str  # str | int | int? | float | choice | targets | sources
    choices: tuple[tuple[str, Any], ...] = ()
    hint: str = ""

    @property
    def wid(self) -> str:
        """The id of the field's widget."""
        return "f-" + self.key.replace(".", "-").replace("_", "-")


FIELDS: tuple[Field, ...] = (
    Field("model.id", "model", "str", hint="hub id, local folder, .gguf, or embedded:smollm2-135m-instruct"),
    Field("data.sources", "dataset", "sources", hint="bundled, file:PATH, hub:OWNER/NAME (comma separated)"),
    Field("train.adapter", "adapter", "choice", (("LoRA", "lora"), ("full fine-tune", "full"))),
    Field("lora.r", "LoRA r", "int"),
    Field("lora.alpha", "LoRA alpha", "float"),
    Field("lora.target_modules", "LoRA targets", "targets", hint="all-linear, or q_proj, v_proj, …"),
    Field("quant.bits", "quantization", "choice", (("none", 0), ("4-bit NF4 (QLoRA)", 4), ("8-bit", 8))),
    Field("train.lr", "learning rate", "float"),
    Field("train.micro_batch_size", "batch size", "int"),
    Field("train.grad_accum", "grad accum", "int"),
    Field("train.max_steps", "max steps", "int?", hint="empty: train for `epochs`"),
    Field("train.epochs", "epochs", "float"),
    Field("train.max_seq_len", "max seq len", "int"),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}


def get_path(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted key (None when a part is missing)."""
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key, creating tables on the way; None removes the key."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    if value is None:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def source_spec(src: dict[str, Any]) -> str:
    """A data source as the form writes it: bundled, file:PATH or hub:OWNER/NAME."""
    kind = src.get("kind")
    if kind == "file":
        return f"file:{src.get('path', '')}"
    if kind == "hub":
        return f"hub:{src.get('id', '')}"
    return str(kind or "?")


def parse_sources(text: str, original: list[dict[str, Any]]) -> list[dict[str, Any]] | str:
    """'bundled, file:data.jsonl' → source dicts; unchanged specs keep their other options."""
    by_spec = {source_spec(s): s for s in original if isinstance(s, dict)}
    out: list[dict[str, Any]] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        if part in by_spec:
            out.append(copy.deepcopy(by_spec[part]))
        elif part == "bundled":
            out.append({"kind": "bundled"})
        elif part.startswith("file:"):
            out.append({"kind": "file", "path": part[5:].strip()})
        elif part.startswith("hub:"):
            out.append({"kind": "hub", "id": part[4:].strip()})
        else:
            return f"{part!r}: write bundled, file:PATH or hub:OWNER/NAME"
    return out


def parse_literal(raw: str) -> Any:
    """A TOML literal (1e-4, 8, true, "x"); bare words stay strings (the --set rule)."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def display_value(field: Field, value: Any) -> str:
    """A preset value as the field's text."""
    if value is None:
        return ""
    if field.kind == "sources":
        return ", ".join(source_spec(s) for s in value if isinstance(s, dict))
    if field.kind == "targets":
        return value if isinstance(value, str) else ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def field_errors(message: str) -> tuple[dict[str, list[str]], list[str]]:
    """Split ConfigError lines into {field key: [messages]} and the lines that name no field."""
    per: dict[str, list[str]] = {}
    rest: list[str] = []
    for line in message.splitlines():
        m = re.search(r"'([A-Za-z0-9_.\[\]]+)'", line)
        key = m.group(1) if m else ""
        hit = next(
            (f.key for f in FIELDS if key == f.key or key.startswith((f.key + "[", f.key + "."))),
            None,
        )
        if hit is None:
            rest.append(line)
        else:
            tail = line[m.end() :] if m else line
            detail = tail.rsplit(": ", 1)[-1] if tail.startswith(" = ") else tail.lstrip(": ")
            per.setdefault(hit, []).append(detail or line)
    return per, rest
