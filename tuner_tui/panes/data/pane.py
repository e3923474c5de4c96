"""Data pane: choose a preset's (or a file's) data, build it, and switch between its four views.

Building runs `core.data.build.build_data` in a worker thread; reading a split happens in a
worker too. The views (Rows, Stats, Rejected, Augmentation: one module each) show the dataset.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import Button, Input, ProgressBar, Select, Static

from tuner_tui.messages import OpenData, PresetsChanged
from tuner_tui.panes.data.augmentation import AugmentationView
from tuner_tui.panes.data.dataset import Dataset, read_dataset
from tuner_tui.panes.data.rejected import RejectedView
from tuner_tui.panes.data.rows import RowsView
from tuner_tui.panes.data.stats import StatsView
from tuner_tui.widgets.panebar import PaneBar

NO_SELECTION = Select.NULL if hasattr(Select, "NULL") else Select.BLANK  # textual ≥ 8 / older


class DataPane(Vertical):
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset: Dataset | None = None
        self.preset: Any = None
        self.preset_path: Path | None = None
        self._choices_loaded = False
        self._build_started = 0.0
        self.building = False

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
            [(view, label) for view, label in zip(self.VIEWS, self.VIEW_LABELS, strict=True)],
            self.VIEWS[0],
            id="data-views",
        )
        with Container(id="data-tabs"):
            yield RowsView(id="data-rows", classes="data-view")
            yield StatsView(id="data-stats", classes="data-view")
            yield RejectedView(id="data-rejected", classes="data-view")
            yield AugmentationView(id="data-aug", classes="data-view")

    def on_mount(self) -> None:
        self.query_one("#data-progress").display = False
        for view in self.VIEWS[1:]:
            self.query_one(f"#{view}").display = False
        self._load_choices()

    @on(PresetsChanged)
    def _presets_changed(self) -> None:
        self._load_choices()

    def on_shown(self) -> None:
        if not self._choices_loaded:
            self._load_choices()

    def focus_default(self) -> None:
        if self.dataset is None:
            self.query_one("#data-source", Select).focus()
        else:
            self.query_one(RowsView).table.focus()

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
        except Exception as e:
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

    def _set_choices(self, options: list[tuple[str, str]]) -> None:
        self._choices_loaded = True
        select = self.query_one("#data-source", Select)
        current = select.value
        select.set_options(options)
        if current is not NO_SELECTION and any(v == current for _, v in options):
            select.value = current
        elif self.dataset is not None and any(v == f"built:{self.dataset.path}" for _, v in options):
            select.value = f"built:{self.dataset.path}"  # opened with --data: show what it is

    @on(OpenData)
    def _open_requested(self, message: OpenData) -> None:
        self.open_ref(message.ref)

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
        except Exception as e:  # e.g. a hub source's fingerprint
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
        except Exception:  # a built dir of a preset that no longer exists
            preset = None
        self.preset, self.preset_path = preset, None
        self._read(path, preset)

    def _read(self, path: Path, preset: Any, cached: bool = True) -> None:
        """(worker) Load a data directory and show it."""
        t = time.perf_counter()
        try:
            ds = read_dataset(path, preset, cached)
            ds.haystack("train")
        except Exception as e:
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
        except Exception as e:  # TunerError/DataError explain themselves
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
        counts = ds.manifest.get("counts", {})
        built = "cached" if ds.cached else f"built in {ds.manifest.get('build_seconds', 0):.1f} s"
        if self.building is False and self._build_started and not ds.cached:
            built = f"built in {time.monotonic() - self._build_started:.1f} s"
        self._build_started = 0.0
        self._status(
            f"{ds.manifest.get('preset', ds.path.name)}: train {counts.get('train', 0):,} · val {counts.get('val', 0):,}"
            f" · test {counts.get('test', 0):,} · rejected {counts.get('rejected', 0):,} · {built}"
        )
        self._show_dataset(ds)

    def _show_dataset(self, ds: Dataset | None) -> None:
        """Every view shows `ds` (None: no data)."""
        for view in (RowsView, StatsView, RejectedView, AugmentationView):
            self.query_one(view).show(ds)

    # ------------------------------------------------------------------ the views' keys

    def action_search(self) -> None:
        if self.view == "data-rejected":
            self.query_one(RejectedView).focus_search()
        else:
            self.show_view("data-rows", focus=False)
            self.query_one(RowsView).focus_search()

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
        self.query_one(StatsView).count_tokens(ds, preset)

    def action_more_augmentation(self) -> None:
        self.query_one(AugmentationView).more()
