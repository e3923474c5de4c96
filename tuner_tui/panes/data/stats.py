"""The Data pane's Stats view: token-length histogram, rows per source, cleaning steps, categories."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from tuner_tui.panes.data.dataset import Dataset
from tuner_tui.widgets.chart import Histogram

NO_TOKENS = "press t to count tokens with the preset's tokenizer"
CATEGORY_BAR = 30  # characters of the longest category's bar
MAX_CATEGORIES = 40


def sources_table(report: dict[str, Any]) -> Table:
    """Rows loaded, rejected, per split and augmented, per source."""
    per_source = report.get("sources", {})
    t = Table("", *per_source, box=None, pad_edge=False, header_style="bold")
    for key in ("loaded", "rejected", "train", "val", "test", "augmented"):
        t.add_row(
            key,
            *(f"{info.get(key, 0):,}" for info in per_source.values()),
            style="dim" if all(not info.get(key) for info in per_source.values()) else "",
        )
    return t


def steps_table(report: dict[str, Any]) -> Table:
    """Rows removed by each cleaning step, and rows added by augmentation."""
    s = Table("step", "removed", box=None, pad_edge=False, header_style="bold")
    for step, n in report.get("steps_removed", {}).items():
        s.add_row(step, f"{n:,}", style="yellow" if n else "dim")
    aug = report.get("augmentation") or {}
    if aug.get("added"):
        s.add_row("augmentation", f"+{aug['added']:,}", style="green")
    return s


def category_bars(categories: dict[str, int]) -> Group:
    """One bar per category (the first MAX_CATEGORIES), scaled to the largest."""
    top = max(categories.values()) or 1
    name_w = min(18, max(len(k) for k in categories))
    lines = []
    for name, n in list(categories.items())[:MAX_CATEGORIES]:
        bar = "█" * max(1, round(n / top * CATEGORY_BAR))
        lines.append(Text.assemble((name[:name_w].ljust(name_w) + " ", ""), (bar, "cyan"), f" {n:,}"))
    if len(categories) > MAX_CATEGORIES:
        lines.append(Text(f"… {len(categories) - MAX_CATEGORIES} more", style="dim"))
    return Group(*lines)


class StatsView(Vertical):
    """The build report of a dataset, and its token lengths once counted (in a worker)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-scroll"):
            yield Static("", id="stats-path")
            yield Histogram("token lengths (prompt + response), train", id="data-hist")
            with Horizontal(classes="controls"):
                yield Button("Count tokens (t)", id="data-tokens", compact=True)
                yield Static("", id="data-pct")
            with Horizontal(id="stats-top"):
                yield Static("", id="stats-sources", classes="box")
                yield Static("", id="stats-steps", classes="box")
            yield Static("", id="stats-categories", classes="box")

    def on_mount(self) -> None:
        self.query_one("#stats-sources", Static).border_title = "rows per source"
        self.query_one("#stats-steps", Static).border_title = "cleaning"
        self.query_one("#stats-categories", Static).border_title = "categories (train)"
        self.query_one("#data-hist", Histogram).set_data([], empty=NO_TOKENS)

    def show(self, ds: Dataset | None) -> None:
        """Show a dataset's report (no dataset: "no build"); token lengths wait for `t`."""
        if ds is not None:
            self.query_one("#stats-path", Static).update(Text(f"data directory: {ds.path}", style="dim"))
        sources = self.query_one("#stats-sources", Static)
        steps = self.query_one("#stats-steps", Static)
        cats = self.query_one("#stats-categories", Static)
        if ds is None or not ds.report:
            for w in (sources, steps, cats):
                w.update(Text("no build", style="dim"))
        else:
            sources.update(sources_table(ds.report))
            steps.update(steps_table(ds.report))
            categories = ds.report.get("categories") or {}
            cats.update(
                category_bars(categories) if categories else Text("no categories in this data", style="dim")
            )
        self.query_one("#data-hist", Histogram).set_data([], empty=NO_TOKENS if ds else "no data")
        self.query_one("#data-pct", Static).update("")

    def count_tokens(self, ds: Dataset, preset: Any) -> None:
        """Tokenize the train split with the preset's tokenizer (in a worker) and draw the histogram."""
        self.query_one("#data-hist", Histogram).set_data([], empty="loading the tokenizer…")
        self._tokens(ds, preset)

    @work(thread=True, group="data-tokens", exclusive=True, exit_on_error=False)
    def _tokens(self, ds: Dataset, preset: Any) -> None:
        from tuner_tui.token_count import token_lengths

        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(
                self.query_one("#data-pct", Static).update,
                Text(f"tokenizing {done:,}/{total:,}…", style="dim"),
            )

        try:
            result = token_lengths(preset, ds.splits.get("train", []), progress)
        except Exception as e:  # offline, no tokenizer, …
            self.app.call_from_thread(self._tokens_failed, f"{type(e).__name__}: {e}")
            return
        self.app.call_from_thread(self._tokens_done, preset, result)

    def _tokens_failed(self, message: str) -> None:
        self.query_one("#data-hist", Histogram).set_data([], empty="no token lengths")
        self.query_one("#data-pct", Static).update(Text(message, style="red"))

    def _tokens_done(self, preset: Any, result: tuple[list[int], int] | None) -> None:
        from core.data.preview import percentiles

        pct_w = self.query_one("#data-pct", Static)
        hist = self.query_one("#data-hist", Histogram)
        if result is None:
            hist.set_data([], empty="no tokenizer yet (a from-scratch preset trains one at run time)")
            pct_w.update("")
            return
        values, total = result
        limit = preset.train.max_seq_len
        hist.set_data(values, limit=limit)
        pct = percentiles(values)
        over = sum(1 for v in values if v > limit)
        t = Text(" " + "  ".join(f"{k} {v}" for k, v in pct.items()))
        t.append(f"  over {limit}: ", style="dim")
        t.append(f"{over:,}", style="red" if over else "green")
        if len(values) < total:
            t.append(f"  (sample of {len(values):,} of {total:,} rows)", style="dim")
        pct_w.update(t)
