"""The Data pane's Augmentation view: original and augmented rows side by side, substitutions highlighted."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from tuner_tui.panes.data.dataset import Dataset

PAIRS = 6  # examples shown at once


def _subs_text(text: str, values: list[str], style: str) -> Text:
    t = Text(text)
    t.highlight_words([v for v in values if v], style)
    return t


def pairs_table(pairs: list[tuple[Any, Any]]) -> Table:
    """Original | augmented, the replaced values in yellow, their replacements in green."""
    t = Table(
        "original", "augmented", box=None, show_lines=True, expand=True, header_style="bold", padding=(0, 1)
    )
    for orig, aug in pairs:
        olds = [o for _, o, _ in aug.substitutions]
        news = [n for _, _, n in aug.substitutions]
        left = _subs_text(orig.instruction, olds, "bold yellow")
        left.append("\n$ ", style="dim")
        left.append_text(_subs_text(orig.command, olds, "bold yellow"))
        right = _subs_text(aug.instruction, news, "bold green")
        right.append("\n$ ", style="dim")
        right.append_text(_subs_text(aug.command, news, "bold green"))
        subs = ", ".join(f"{k}: {o} → {n}" for k, o, n in aug.substitutions)
        right.append(f"\n{subs}", style="dim italic")
        t.add_row(left, right)
    return t


class AugmentationView(Vertical):
    """Augmented rows of the build, or a preview of what augmentation would make of the data."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset: Dataset | None = None
        self.seed = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="aug-scroll"):
            yield Static("", id="aug-view")

    def show(self, ds: Dataset | None) -> None:
        """Show a dataset's first examples (no dataset: "no data")."""
        self.dataset, self.seed = ds, 0
        self._draw_examples()

    def more(self) -> None:
        """Other examples."""
        self.seed += 1
        self._draw_examples()

    def _draw_examples(self) -> None:
        if self.dataset is None:
            self.query_one("#aug-view", Static).update(Text("no data", style="dim"))
            return
        self._augment(self.dataset, self.seed)

    @work(thread=True, group="data-aug", exclusive=True, exit_on_error=False)
    def _augment(self, ds: Dataset, seed: int) -> None:
        from core.data.build import DataDir
        from core.data.preview import augmentation_pairs

        train = ds.splits.get("train", [])
        pairs = augmentation_pairs(DataDir(ds.path, ds.manifest), train, PAIRS, seed)
        built = True
        if not pairs:
            from core.data.augment import preview_augmentation

            built = False
            originals = [ex for ex in train if not ex.origin]
            pairs = preview_augmentation(originals, n=PAIRS, seed=seed + 42)
        self.app.call_from_thread(self._augmented, ds, pairs, built)

    def _augmented(self, ds: Dataset, pairs: list[tuple[Any, Any]], built: bool) -> None:
        if ds is not self.dataset:
            return
        view = self.query_one("#aug-view", Static)
        if not pairs:
            view.update(
                Text(
                    "no row of this data has entities (paths, files, users, sizes, times) to substitute",
                    style="dim",
                )
            )
            return
        head = Text(
            "augmented rows in this build"
            if built
            else "preview — this data has no augmented rows; with augment = true on its source it would get rows like:",
            style="bold" if built else "italic",
        )
        head.append("   (m: other examples)", style="dim")
        view.update(Group(head, pairs_table(pairs)))
