"""A built data directory as the Data pane holds it (no Textual): splits, report, rejected rows, search."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """A loaded data directory (read in a worker)."""

    path: Path
    manifest: dict[str, Any]
    report: dict[str, Any]
    splits: dict[str, list[Any]]
    rejected: list[dict[str, Any]]
    preset: Any = None  # the Preset it was built for, when known (token lengths need its tokenizer)
    cached: bool = True
    hay: dict[str, list[str]] = field(default_factory=dict)  # lower-cased search text per split

    def rows(self, split: str) -> list[Any]:
        """The rows of a split, or the rejected rows for split "rejected"."""
        return self.rejected if split == "rejected" else self.splits.get(split, [])

    def haystack(self, split: str) -> list[str]:
        """The lower-cased search text of each row of a split (built once per split)."""
        if split not in self.hay:
            rows = self.rows(split)
            if split == "rejected":
                self.hay[split] = [
                    f"{r.get('instruction', '')}\n{r.get('command', '')}\n{r.get('reason', '')}".lower()
                    for r in rows
                ]
            else:
                self.hay[split] = [f"{ex.instruction}\n{ex.command}".lower() for ex in rows]
        return self.hay[split]

    def search(self, split: str, query: str) -> list[int] | None:
        """Indices of the rows whose text contains `query` (any case); None for an empty query."""
        if not query:
            return None
        q = query.lower()
        return [i for i, h in enumerate(self.haystack(split)) if q in h]


def read_dataset(path: Path, preset: Any = None, cached: bool = True) -> Dataset:
    """Read a built data directory: splits, report, rejected rows."""
    from core.data.build import DataDir

    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    dd = DataDir(path, manifest, cached)
    splits = {name: dd.split(name) if (path / f"{name}.jsonl").is_file() else [] for name in SPLITS}
    report = dd.report() if (path / "report.json").is_file() else {}
    rejected = dd.rejected() if (path / "rejected.jsonl").is_file() else []
    return Dataset(path, manifest, report, splits, rejected, preset, cached)


def random_rows(n: int, seed: int = 0) -> list[Any]:
    """Synthetic rows (tests and the latency bench)."""
    from core.data.records import Example

    rng = random.Random(seed)
    verbs = ["list", "find", "count", "delete", "archive", "compress", "grep", "sort"]
    return [
        Example(
            instruction=f"{rng.choice(verbs)} the files number {i} in dir{rng.randint(0, 99)}",
            command=f"ls -la dir{i % 100}/file{i}.txt | grep {rng.choice(verbs)}",
            source="synthetic",
            row_id=f"synthetic:{i}",
            category=rng.choice(["files", "find", "text", "archive"]),
        )
        for i in range(n)
    ]
