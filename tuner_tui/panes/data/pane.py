"""Data pane: a preset's (or a file's) dataset — rows, search, counts, token lengths, rejects, augmentation.

Building runs `core.data.build.build_data` in a worker thread; reading a split, filtering 100K
rows and tokenizing happen in workers too. The rows table draws only the visible rows.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Input, ProgressBar, Select, Static

from tuner_tui.panes import Pane, when_mounted
from tuner_tui.widgets.chart import Histogram
from tuner_tui.widgets.panebar import PaneBar
from tuner_tui.widgets.table import Column, VirtualTable

NO_SELECTION = Select.NULL if hasattr(Select, "NULL") else Select.BLANK  # textual ≥ 8 / older

if TYPE_CHECKING:
    from tuner_tui.app import TunerApp

SPLITS = ("train", "val", "test")
ROW_COLUMNS = (
    Column("source", lambda ex: ex.source, width=10, style="dim"),
    Column("category", lambda ex: ex.category, width=13, style="dim"),
    Column("instruction", lambda ex: ex.instruction, ratio=1.2, searchable=True),
    Column("command", lambda ex: ex.command, ratio=1.0, style="bold", searchable=True),
)


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

    def haystack(self, split: str) -> list[str]:
        if split not in self.hay:
            rows = self.rejected if split == "rejected" else self.splits.get(split, [])
            if split == "rejected":
                self.hay[split] = [
                    f"{r.get('instruction', '')}\n{r.get('command', '')}\n{r.get('reason', '')}".lower()
                    for r in rows
                ]
            else:
                self.hay[split] = [f"{ex.instruction}\n{ex.command}".lower() for ex in rows]
        return self.hay[split]


def read_dataset(path: Path, preset: Any = None, cached: bool = True) -> Dataset:
    """Read a built data directory: splits, report, rejected rows."""
    from core.data.build import DataDir

    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    dd = DataDir(path, manifest, cached)
    splits = {name: dd.split(name) if (path / f"{name}.jsonl").is_file() else [] for name in SPLITS}
    report = dd.report() if (path / "report.json").is_file() else {}
    rejected = dd.rejected() if (path / "rejected.jsonl").is_file() else []
    return Dataset(path, manifest, report, splits, rejected, preset, cached)


def _subs_text(text: str, values: list[str], style: str) -> Text:
    t = Text(text)
    t.highlight_words([v for v in values if v], style)
    return t


class DataPane(Pane, Vertical):
    """Choose a preset or a data file, build it, and look at what training will see."""

    BINDINGS = [
        Binding("ctrl+b", "build", "Build"),
        Binding("slash", "search", "Search"),
        Binding("t", "token_lengths", "Token lengths"),
        Binding("right_square_bracket", "view(1)", "Next view", key_display="]"),
        Binding("left_square_bracket", "view(-1)", "Prev view", key_display="[", show=False),
        Binding("m", "more_augmentation", "More examples", show=False),
    ]

    VIEWS = ("data-rows", "data-stats", "data-rejected", "data-aug")
    VIEW_LABELS = ("Rows", "Stats", "Rejected", "Augmentation")
    VIEW_FOCUS = {
        "data-rows": "#data-table",
        "data-rejected": "#rej-table",
        "data-stats": "#stats-scroll",
        "data-aug": "#aug-scroll",
    }

    app: TunerApp

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset: Dataset | None = None
        self.preset: Any = None
        self.preset_path: Path | None = None
        self._choices_loaded = False
        self._search_timer: Timer | None = None
        self._aug_seed = 0
        self._build_started = 0.0
        self.building = False
        self.token_values: list[int] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="data-controls", classes="controls"):
            yield Select([], prompt="preset or built data", id="data-source", compact=True, allow_blank=True)
            yield Input(
                placeholder="…or a data file path (.jsonl .csv .parquet), Enter", id="data-file", compact=True
            )
            yield Button("Build", id="data-build", compact=True, variant="primary")
        with Horizontal(id="data-statusbar"):
            yield Static(
                Text("choose a preset (or type a data file path) to see its data", style="dim"),
                id="data-status",
            )
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="data-progress")
        # The views share one bar and toggle `display` (see tuner_tui/widgets/panebar.py for why not tabs).
        yield PaneBar(
            [(view, label) for view, label in zip(self.VIEWS, self.VIEW_LABELS)],
            self.VIEWS[0],
            id="data-views",
        )
        with Container(id="data-tabs"):
            with Vertical(id="data-rows", classes="data-view"):
                with Horizontal(classes="controls"):
                    yield Input(placeholder="search instruction / command", id="data-search", compact=True)
                    yield Select(
                        [(s, s) for s in SPLITS],
                        value="train",
                        allow_blank=False,
                        id="data-split",
                        compact=True,
                    )
                    yield Static("", id="data-count")
                yield VirtualTable(
                    ROW_COLUMNS,
                    id="data-table",
                    empty="no rows",
                )
                yield Static("", id="data-detail", classes="detail")
            with Vertical(id="data-stats", classes="data-view"):
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
            with Vertical(id="data-rejected", classes="data-view"):
                with Horizontal(classes="controls"):
                    yield Input(placeholder="search rejected rows / reasons", id="rej-search", compact=True)
                    yield Static("", id="rej-count")
                yield VirtualTable(
                    [
                        Column("step", lambda r: r.get("step", ""), width=10, style="yellow"),
                        Column("reason", lambda r: r.get("reason", ""), ratio=1.0, searchable=True),
                        Column("instruction", lambda r: r.get("instruction", ""), ratio=1.0, searchable=True),
                        Column(
                            "command",
                            lambda r: r.get("command", ""),
                            ratio=0.8,
                            style="bold",
                            searchable=True,
                        ),
                    ],
                    id="rej-table",
                    empty="no rejected rows",
                )
                yield Static("", id="rej-detail", classes="detail")
            with Vertical(id="data-aug", classes="data-view"), VerticalScroll(id="aug-scroll"):
                yield Static("", id="aug-view")

    def on_mount(self) -> None:
        self.query_one("#data-progress").display = False
        for view in self.VIEWS[1:]:
            self.query_one(f"#{view}").display = False
        self.query_one("#stats-sources", Static).border_title = "rows per source"
        self.query_one("#stats-steps", Static).border_title = "cleaning"
        self.query_one("#stats-categories", Static).border_title = "categories (train)"
        self.query_one("#data-hist", Histogram).set_data(
            [], empty="press t to count tokens with the preset's tokenizer"
        )
        self._load_choices()

    def on_shown(self) -> None:
        if not self._choices_loaded:
            self._load_choices()

    def focus_default(self) -> None:
        if self.dataset is None:
            self.query_one("#data-source", Select).focus()
        else:
            self.query_one("#data-table", VirtualTable).focus()

    @property
    def view(self) -> str:
        """The view shown: one of VIEWS."""
        return self.query_one("#data-views", PaneBar).active

    def show_view(self, view: str, focus: bool = True) -> None:
        """Show Rows, Stats, Rejected or Augmentation (and focus its table or scroller)."""
        bar = self.query_one("#data-views", PaneBar)
        if view != bar.active:
            self.query_one(f"#{bar.active}").display = False
            self.query_one(f"#{view}").display = True
            bar.active = view
        if focus:
            self.query_one(self.VIEW_FOCUS[view]).focus()

    def on_pane_bar_selected(self, event: PaneBar.Selected) -> None:
        event.stop()  # the views' bar, not the app's
        self.show_view(event.pane, focus=event.focus)

    def action_view(self, step: int) -> None:
        """Cycle Rows → Stats → Rejected → Augmentation with ] and [."""
        i = self.VIEWS.index(self.view) if self.view in self.VIEWS else 0
        self.show_view(self.VIEWS[(i + step) % len(self.VIEWS)])

    # ------------------------------------------------------------------ choosing a source

    @work(thread=True, group="data-choices", exclusive=True, exit_on_error=False)
    def _load_choices(self) -> None:
        from core.config.loader import list_presets
        from core.data.build import data_root

        options: list[tuple[str, str]] = []
        try:
            for pf in list_presets():
                options.append((f"{pf.name}  (preset{'' if pf.shipped else ', user'})", f"preset:{pf.path}"))
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.app.notify, f"cannot list presets: {e}", severity="error")
        try:
            root = data_root()
            built = (
                sorted(
                    (p for p in root.iterdir() if (p / "manifest.json").is_file()),
                    key=lambda p: p.stat().st_mtime,
                    reverse=True,
                )
                if root.is_dir()
                else []
            )
            options += [(f"{p.name}  (built)", f"built:{p}") for p in built]
        except OSError:
            pass
        self.app.call_from_thread(self._set_choices, options)

    @when_mounted
    def _set_choices(self, options: list[tuple[str, str]]) -> None:
        self._choices_loaded = True
        select = self.query_one("#data-source", Select)
        current = select.value
        select.set_options(options)
        if current is not NO_SELECTION and any(v == current for _, v in options):
            select.value = current
        elif self.dataset is not None and any(v == f"built:{self.dataset.path}" for _, v in options):
            select.value = f"built:{self.dataset.path}"  # opened with --data: show what it is

    @when_mounted
    def open_ref(self, ref: str) -> None:
        """Open a built data directory, a preset name/file, or a data file (`tuner-tui --data REF`)."""
        path = Path(ref).expanduser()
        if (path / "manifest.json").is_file():
            self._status(f"reading {path.name}…", busy=True)
            self._read_built(path.absolute())
        elif path.is_file() and path.suffix != ".toml":
            self._open_file(str(path))
        else:
            self._open_preset_ref(ref)

    @work(thread=True, group="data-open", exclusive=True, exit_on_error=False)
    def _open_preset_ref(self, ref: str) -> None:
        from core.config.loader import resolve_preset_path
        from core.errors import TunerError

        try:
            path = resolve_preset_path(ref)
        except TunerError as e:
            self.app.call_from_thread(self._status, str(e), error=True)
            return
        self.app.call_from_thread(self._open_preset, path)

    @on(Select.Changed, "#data-source")
    def _source_chosen(self, event: Select.Changed) -> None:
        if event.value is NO_SELECTION:
            return
        kind, _, ref = str(event.value).partition(":")
        if kind == "built" and self.dataset is not None and str(self.dataset.path) == ref:
            return  # already shown
        if kind == "preset":
            self._open_preset(Path(ref))
        else:
            self._status(f"reading {Path(ref).name}…", busy=True)
            self._read_built(Path(ref))

    @on(Input.Submitted, "#data-file")
    def _file_chosen(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if raw:
            self._open_file(raw)

    @work(thread=True, group="data-open", exclusive=True, exit_on_error=False)
    def _open_preset(self, path: Path) -> None:
        from core.config.loader import load_preset
        from core.errors import TunerError

        try:
            preset, ppath = load_preset(path)
        except TunerError as e:
            self.app.call_from_thread(self._status, f"invalid preset: {e}", error=True)
            return
        self._open_for(preset, ppath)

    @work(thread=True, group="data-open", exclusive=True, exit_on_error=False)
    def _open_file(self, raw: str) -> None:
        from core.config.loader import load_preset, validate_preset
        from core.errors import TunerError

        path = Path(raw).expanduser().absolute()
        if not path.is_file():
            self.app.call_from_thread(self._status, f"{path} does not exist", error=True)
            return
        try:
            base, _ = load_preset(self.preset_path or "quickstart")
            data = base.model_dump(mode="json", exclude_none=True)
            data["name"] = "file-" + "".join(c if c.isalnum() or c in "._-" else "-" for c in path.stem)
            data["data"]["sources"] = [{"kind": "file", "path": str(path)}]
            preset = validate_preset(data, str(path))
        except TunerError as e:
            self.app.call_from_thread(self._status, str(e), error=True)
            return
        self._open_for(preset, None)

    def _open_for(self, preset: Any, ppath: Path | None) -> None:
        """(worker) Show the preset's data if a build exists; else say how to build it."""
        from core.data.build import data_root, input_key
        from core.errors import TunerError

        self.preset, self.preset_path = preset, ppath
        try:
            key = input_key(preset, ppath.parent if ppath else None)
        except TunerError as e:
            self.app.call_from_thread(self._status, f"{preset.name}: {e}", error=True)
            return
        except Exception as e:  # noqa: BLE001 - e.g. a hub source's fingerprint
            self.app.call_from_thread(self._status, f"{preset.name}: {type(e).__name__}: {e}", error=True)
            return
        target = data_root() / f"{preset.name}-{key[:12]}"
        manifest = target / "manifest.json"
        try:
            fresh = json.loads(manifest.read_text()).get("input_key") == key
        except (OSError, ValueError):
            fresh = False
        if fresh:
            self._read(target, preset)
        else:
            self.app.call_from_thread(self._not_built, preset)

    def _not_built(self, preset: Any) -> None:
        self.dataset = None
        kinds = ", ".join(sorted({s.kind for s in preset.data.sources}))
        self._status(f"{preset.name}: not built yet ({kinds} sources) — press Build (ctrl+b)", warn=True)
        self._show_dataset(None)

    @work(thread=True, group="data-open", exclusive=True, exit_on_error=False)
    def _read_built(self, path: Path) -> None:
        preset = None
        try:
            name = json.loads((path / "manifest.json").read_text()).get("preset")
            if name:
                from core.config.loader import load_preset

                preset, _ = load_preset(name)
        except Exception:  # noqa: BLE001 - a built dir of a preset that no longer exists
            preset = None
        self.preset, self.preset_path = preset, None
        self._read(path, preset)

    def _read(self, path: Path, preset: Any, cached: bool = True) -> None:
        """(worker) Load a data directory and show it."""
        t = time.perf_counter()
        try:
            ds = read_dataset(path, preset, cached)
            ds.haystack("train")
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self._status, f"cannot read {path}: {e}", error=True)
            return
        took = time.perf_counter() - t
        self.app.call_from_thread(self._loaded, ds, took)

    # ------------------------------------------------------------------ building

    @on(Button.Pressed, "#data-build")
    def _build_pressed(self) -> None:
        self.action_build()

    def action_build(self) -> None:
        if self.building:
            self.app.notify("a build is already running")
            return
        if self.preset is None:
            self.app.notify("choose a preset or a data file first", severity="warning")
            return
        self.building = True
        self._build_started = time.monotonic()
        self._status(f"building {self.preset.name}…", busy=True)
        self._build(self.preset, self.preset_path)

    @work(thread=True, group="data-build", exit_on_error=False)
    def _build(self, preset: Any, ppath: Path | None) -> None:
        from core.data.build import build_data

        try:
            dd = build_data(preset, ppath.parent if ppath else None)
        except Exception as e:  # noqa: BLE001 - TunerError/DataError explain themselves
            self.building = False
            self.app.call_from_thread(self._status, f"build failed: {e}", error=True)
            return
        self.building = False
        self._read(dd.path, preset, dd.cached)
        self.app.call_from_thread(self._load_choices)

    # ------------------------------------------------------------------ showing

    def _status(self, message: str, *, busy: bool = False, error: bool = False, warn: bool = False) -> None:
        style = "red" if error else "yellow" if warn else "dim" if busy else ""
        self.query_one("#data-status", Static).update(Text(message, style=style))
        self.query_one("#data-progress").display = busy

    def _loaded(self, ds: Dataset, took: float) -> None:
        import gc

        self.dataset = ds
        # A big split is hundreds of thousands of long-lived objects: move them out of the
        # collector's way, or every full collection walks them all (100 ms+ pauses mid-keypress).
        gc.collect()
        gc.freeze()
        self.token_values = None
        counts = ds.manifest.get("counts", {})
        built = "cached" if ds.cached else f"built in {ds.manifest.get('build_seconds', 0):.1f} s"
        if self.building is False and self._build_started and not ds.cached:
            built = f"built in {time.monotonic() - self._build_started:.1f} s"
        self._build_started = 0.0
        self._status(
            f"{ds.manifest.get('preset', ds.path.name)}: train {counts.get('train', 0):,} · val {counts.get('val', 0):,}"
            f" · test {counts.get('test', 0):,} · rejected {counts.get('rejected', 0):,} · {built}"
        )
        self.query_one("#stats-path", Static).update(Text(f"data directory: {ds.path}", style="dim"))
        self._show_dataset(ds)

    def _show_dataset(self, ds: Dataset | None) -> None:
        split = self.query_one("#data-split", Select).value
        rows = ds.splits.get(str(split), []) if ds else []
        self.query_one("#data-search", Input).value = ""
        table = self.query_one("#data-table", VirtualTable)
        has_category = bool(ds) and any(ex.category for ex in (ds.splits.get("train") or [])[:2000])
        table.set_columns([c for c in ROW_COLUMNS if has_category or c.title != "category"])
        table.set_rows(rows)
        self.query_one("#rej-table", VirtualTable).set_rows(ds.rejected if ds else [])
        self._count()
        self._render_stats(ds)
        self._aug_seed = 0
        self._render_augmentation()
        hist = self.query_one("#data-hist", Histogram)
        hist.set_data([], empty="press t to count tokens with the preset's tokenizer" if ds else "no data")
        self.query_one("#data-pct", Static).update("")

    def _count(self) -> None:
        table = self.query_one("#data-table", VirtualTable)
        total = len(table.rows)
        shown = table.row_count
        self.query_one("#data-count", Static).update(
            f" {shown:,} of {total:,}" if shown != total else f" {total:,} rows"
        )
        rej = self.query_one("#rej-table", VirtualTable)
        self.query_one("#rej-count", Static).update(f" {rej.row_count:,} of {len(rej.rows):,}")

    def _render_stats(self, ds: Dataset | None) -> None:
        sources = self.query_one("#stats-sources", Static)
        steps = self.query_one("#stats-steps", Static)
        cats = self.query_one("#stats-categories", Static)
        if ds is None or not ds.report:
            for w in (sources, steps, cats):
                w.update(Text("no build", style="dim"))
            return
        report = ds.report
        per_source = report.get("sources", {})
        t = Table("", *per_source, box=None, pad_edge=False, header_style="bold")
        for key in ("loaded", "rejected", "train", "val", "test", "augmented"):
            t.add_row(
                key,
                *(f"{info.get(key, 0):,}" for info in per_source.values()),
                style="dim" if all(not info.get(key) for info in per_source.values()) else "",
            )
        sources.update(t)
        s = Table("step", "removed", box=None, pad_edge=False, header_style="bold")
        for step, n in report.get("steps_removed", {}).items():
            s.add_row(step, f"{n:,}", style="yellow" if n else "dim")
        aug = report.get("augmentation") or {}
        if aug.get("added"):
            s.add_row("augmentation", f"+{aug['added']:,}", style="green")
        steps.update(s)
        categories = report.get("categories") or {}
        if not categories:
            cats.update(Text("no categories in this data", style="dim"))
            return
        top = max(categories.values()) or 1
        width = 30
        lines = []
        name_w = min(18, max(len(k) for k in categories))
        for name, n in list(categories.items())[:40]:
            bar = "█" * max(1, round(n / top * width))
            lines.append(Text.assemble((name[:name_w].ljust(name_w) + " ", ""), (bar, "cyan"), f" {n:,}"))
        if len(categories) > 40:
            lines.append(Text(f"… {len(categories) - 40} more", style="dim"))
        cats.update(Group(*lines))

    # ------------------------------------------------------------------ search

    def action_search(self) -> None:
        if self.view == "data-rejected":
            self.query_one("#rej-search", Input).focus()
        else:
            self.show_view("data-rows", focus=False)
            self.query_one("#data-search", Input).focus()

    @on(Input.Changed, "#data-search")
    @on(Input.Changed, "#rej-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        target = "rejected" if event.input.id == "rej-search" else None
        self._search_timer = self.set_timer(0.2, lambda: self._run_filter(target))

    @on(Input.Submitted, "#data-search")
    @on(Input.Submitted, "#rej-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        table = "#rej-table" if event.input.id == "rej-search" else "#data-table"
        self.query_one(table, VirtualTable).focus()

    @on(Select.Changed, "#data-split")
    def _split_changed(self, event: Select.Changed) -> None:
        if self.dataset is not None:
            self.query_one("#data-table", VirtualTable).set_rows(
                self.dataset.splits.get(str(event.value), [])
            )
            self._run_filter(None)

    def _run_filter(self, target: str | None) -> None:
        if self.dataset is None:
            return
        if target == "rejected":
            query = self.query_one("#rej-search", Input).value
            split = "rejected"
        else:
            query = self.query_one("#data-search", Input).value
            split = str(self.query_one("#data-split", Select).value)
        self._filter(self.dataset, split, query.strip())

    @work(thread=True, group="data-filter", exclusive=True, exit_on_error=False)
    def _filter(self, ds: Dataset, split: str, query: str) -> None:
        if not query:
            index = None
        else:
            q = query.lower()
            index = [i for i, h in enumerate(ds.haystack(split)) if q in h]
        self.app.call_from_thread(self._filtered, ds, split, index, query)

    def _filtered(self, ds: Dataset, split: str, index: list[int] | None, query: str) -> None:
        if ds is not self.dataset:
            return
        table = self.query_one("#rej-table" if split == "rejected" else "#data-table", VirtualTable)
        table.set_filter(index, query)
        self._count()

    # ------------------------------------------------------------------ details

    @on(VirtualTable.Highlighted, "#data-table")
    def _row_highlighted(self, event: VirtualTable.Highlighted) -> None:
        ex = event.row
        detail = self.query_one("#data-detail", Static)
        if ex is None:
            detail.update("")
            return
        t = Text()
        t.append(ex.instruction)
        t.append("\n$ ", style="dim")
        t.append(ex.command, style="bold")
        meta = f"\n{ex.source} · {ex.row_id}" + (f" · {ex.category}" if ex.category else "")
        if ex.origin:
            subs = ", ".join(f"{k}: {o} → {n}" for k, o, n in ex.substitutions)
            meta += f" · augmented from {ex.origin} ({subs})"
        t.append(meta, style="dim")
        detail.update(t)

    @on(VirtualTable.Highlighted, "#rej-table")
    def _rej_highlighted(self, event: VirtualTable.Highlighted) -> None:
        r = event.row
        detail = self.query_one("#rej-detail", Static)
        if r is None:
            detail.update("")
            return
        t = Text()
        t.append(f"{r.get('step', '')}: ", style="yellow bold")
        t.append(str(r.get("reason", "")), style="yellow")
        t.append(f"\n{r.get('instruction', '')}\n$ ")
        t.append(str(r.get("command", "")), style="bold")
        t.append(f"\n{r.get('source', '')} · {r.get('row_id', '')}", style="dim")
        detail.update(t)

    # ------------------------------------------------------------------ token lengths

    @on(Button.Pressed, "#data-tokens")
    def _tokens_pressed(self) -> None:
        self.action_token_lengths()

    def action_token_lengths(self) -> None:
        ds = self.dataset
        if ds is None:
            self.app.notify("no data loaded", severity="warning")
            return
        preset = ds.preset or self.preset
        if preset is None:
            from core.config.schema import Preset

            preset = Preset(name="default")
        self.show_view("data-stats", focus=False)
        self.query_one("#data-hist", Histogram).set_data([], empty="loading the tokenizer…")
        self._tokens(ds, preset)

    @work(thread=True, group="data-tokens", exclusive=True, exit_on_error=False)
    def _tokens(self, ds: Dataset, preset: Any) -> None:
        from tuner_tui import backend

        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(
                self.query_one("#data-pct", Static).update,
                Text(f"tokenizing {done:,}/{total:,}…", style="dim"),
            )

        try:
            result = backend.token_lengths(preset, ds.splits.get("train", []), progress)
        except Exception as e:  # noqa: BLE001 - offline, no tokenizer, …
            self.app.call_from_thread(self._tokens_failed, f"{type(e).__name__}: {e}")
            return
        self.app.call_from_thread(self._tokens_done, ds, preset, result)

    def _tokens_failed(self, message: str) -> None:
        self.query_one("#data-hist", Histogram).set_data([], empty="no token lengths")
        self.query_one("#data-pct", Static).update(Text(message, style="red"))

    def _tokens_done(self, ds: Dataset, preset: Any, result: tuple[list[int], int] | None) -> None:
        from core.data.preview import percentiles

        pct_w = self.query_one("#data-pct", Static)
        hist = self.query_one("#data-hist", Histogram)
        if result is None:
            hist.set_data([], empty="no tokenizer yet (a from-scratch preset trains one at run time)")
            pct_w.update("")
            return
        values, total = result
        self.token_values = values
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

    # ------------------------------------------------------------------ augmentation

    def action_more_augmentation(self) -> None:
        self._aug_seed += 1
        self._render_augmentation()

    def _render_augmentation(self) -> None:
        view = self.query_one("#aug-view", Static)
        ds = self.dataset
        if ds is None:
            view.update(Text("no data", style="dim"))
            return
        self._augment(ds, self._aug_seed)

    @work(thread=True, group="data-aug", exclusive=True, exit_on_error=False)
    def _augment(self, ds: Dataset, seed: int) -> None:
        from core.data.build import DataDir
        from core.data.preview import augmentation_pairs

        train = ds.splits.get("train", [])
        pairs = augmentation_pairs(DataDir(ds.path, ds.manifest), train, 6, seed)
        built = True
        if not pairs:
            from core.data.augment import preview_augmentation

            built = False
            originals = [ex for ex in train if not ex.origin]
            pairs = preview_augmentation(originals, n=6, seed=seed + 42)
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
        t = Table(
            "original",
            "augmented",
            box=None,
            show_lines=True,
            expand=True,
            header_style="bold",
            padding=(0, 1),
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
        view.update(Group(head, t))


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
