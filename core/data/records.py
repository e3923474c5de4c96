"""The row types every data step passes along: an example and a rejected row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Example:
    """One natural-language → bash pair, with where it came from."""

    instruction: str
    command: str
    source: str  # short source name, e.g. "bundled", "nl2bash-custom", "file:train.jsonl"
    row_id: str  # stable id inside the source, e.g. "train.jsonl:17" or "nl2bash-custom/train#42"
    category: str = ""
    split: str | None = None  # the source's own split ("train"/"val"/"test"), honoured when set
    origin: str | None = None  # row_id of the original row, for augmented rows
    substitutions: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, old, new)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for JSONL output; empty optional fields are left out."""
        d = asdict(self)
        if not d["substitutions"]:
            d.pop("substitutions")
        else:
            d["substitutions"] = [list(s) for s in d["substitutions"]]
        for key in ("origin", "split"):
            if d[key] is None:
                d.pop(key)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Example:
        """Inverse of to_json."""
        subs = [tuple(s) for s in d.get("substitutions", [])]
        return cls(
            instruction=d["instruction"],
            command=d["command"],
            source=d["source"],
            row_id=d["row_id"],
            category=d.get("category", ""),
            split=d.get("split"),
            origin=d.get("origin"),
            substitutions=subs,
        )


@dataclass(slots=True)
class Rejected:
    """A row a data step refused, with the step and the reason: nothing is dropped silently."""

    step: str  # "load", "syntax", "dangerous", "duplicate", "decontaminate", "too_long", ...
    reason: str
    source: str
    row_id: str
    instruction: str = ""
    command: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain dict for JSONL output."""
        return asdict(self)
