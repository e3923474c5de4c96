"""The comparison of marked runs: overlaid curves, final metrics side by side, preset differences.

Opened by the Runs pane (`c` with two or more runs marked); Escape goes back. The runs are read
in a worker thread (`tuner_tui.compare_data`, through core's event readers), and read again
every few seconds while one of them is still running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tuner_tui.compare_data import ComparedRun, RunsReader, metric_rows, preset_diff
from tuner_tui.widgets.chart import ChartSeries, LineChart, legend, series_style, share_range
from tuner_tui.widgets.keybar import KeyBar

RELOAD_SECONDS = 5.0  # while a compared run is still training
DENSE = 30  # a training curve with more points than this is drawn as a line only (markers would blot it)


def _pct_axis(v: float) -> str:
    return f"{v:.0%}"


class CompareScreen(Screen[None]):
    """Several runs side by side; `paths` in marking order (the first is the reference for the diff)."""

    BINDINGS = [
        Binding("escape", "close", "Back to runs"),
        Binding("q", "close", "Back", show=False),
        Binding("g", "reload", "Reload"),
    ]

    DEFAULT_CSS = """
    CompareScreen #cmp-title { height: 1; padding: 0 1; }
    CompareScreen #cmp-legend { height: auto; padding: 0 1; }
    CompareScreen #cmp-body { height: 1fr; }
    CompareScreen #cmp-charts { height: 12; }
    CompareScreen.-narrow #cmp-charts { height: 9; }
    CompareScreen #cmp-charts LineChart { width: 1fr; height: 100%; }
    CompareScreen .cmp-note { height: auto; padding: 0 1; color: $text-muted; }
    CompareScreen .cmp-heading { height: auto; padding: 0 1; margin-top: 1; text-style: bold; }
    CompareScreen DataTable { height: auto; max-height: 30; margin: 0 1; }
    """

    def __init__(self, paths: list[Path], clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.paths = [Path(p) for p in paths]
        self.clock = clock
        self.reader = RunsReader(self.paths)  # used by one worker at a time (`loading`)
        self.runs: list[ComparedRun] = []
        self._shown: dict[
            str, object
        ] = {}  # table id → what it shows: a reload that changes nothing keeps its cursor
        self.loading = False
        self.loaded = False  # the first reading is on screen (tests wait for it)

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(("compare ", "bold"), f"{len(self.paths)} runs", ("  ·  esc: back to runs", "dim")),
            id="cmp-title",
        )
        yield Static(Text(f"reading {len(self.paths)} runs…", style="dim"), id="cmp-legend")
        with VerticalScroll(id="cmp-body"):
            with Horizontal(id="cmp-charts"):
                yield LineChart("train loss", id="cmp-loss", empty="no step logged (every log.every)")
                yield LineChart("val loss", id="cmp-val", empty="no evaluations")
                yield LineChart("exec accuracy", id="cmp-exec", y_fmt=_pct_axis, empty="not measured")
            yield Static("", id="cmp-chart-note", classes="cmp-note")
            yield Static("final metrics", classes="cmp-heading")
            yield DataTable(id="cmp-metrics", cursor_type="row", zebra_stripes=True)
            yield Static("preset differences", id="cmp-diff-heading", classes="cmp-heading")
            yield DataTable(id="cmp-diff", cursor_type="row", zebra_stripes=True)
            yield Static("", id="cmp-diff-note", classes="cmp-note")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#cmp-body").focus()
        self.action_reload()
        self.set_interval(RELOAD_SECONDS, self._auto_reload)

    def action_close(self) -> None:
        """Back to the Runs pane (the marks stay)."""
        self.dismiss(None)

    def action_reload(self) -> None:
        """Read the runs again (in a worker)."""
        if not self.loading:
            self.loading = True
            self._read()

    def _auto_reload(self) -> None:
        if any(r.status in ("running", "starting") for r in self.runs):
            self.action_reload()

    @work(thread=True, group="compare-read", exit_on_error=False)
    def _read(self) -> None:
        try:
            runs = self.reader.read(now=self.clock() if self.clock else None)
        except Exception as e:  # a damaged run must not kill the app
            self.app.call_from_thread(self._failed, f"cannot read the runs: {type(e).__name__}: {e}")
            return
        self.app.call_from_thread(self._show, runs)

    def _failed(self, message: str) -> None:
        self.loading = False
        self.query_one("#cmp-legend", Static).update(Text(message, style="red"))

    # ------------------------------------------------------------------ drawing

    def _show(self, runs: list[ComparedRun]) -> None:
        self.loading = False
        self.runs = runs
        styles = [series_style(i) for i in range(len(runs))]
        names = legend([ChartSeries(r.name, [], c, m) for r, (c, m) in zip(runs, styles, strict=True)])
        names.no_wrap = False  # many runs: the legend takes a second line rather than losing names
        self.query_one("#cmp-legend", Static).update(names)
        self._show_charts(runs, styles)
        self._show_metrics(runs, styles)
        self._show_diff(runs, styles)
        self.loaded = True

    def _show_charts(self, runs: list[ComparedRun], styles: list[tuple[str, str]]) -> None:
        def series(points: list[list[tuple[float, float]]], markers: bool) -> list[ChartSeries]:
            return [
                ChartSeries("", pts, color, marker if markers else "")
                for pts, (color, marker) in zip(points, styles, strict=True)
            ]

        train = [r.train_loss for r in runs]
        val = [r.val_loss for r in runs]
        execs = [r.exec_accuracy for r in runs]
        xs = [p[0] for group in (train, val, execs) for pts in group for p in pts]
        # One step axis for the three charts: a point above another is the same step.
        x_range = (min(xs), max(xs)) if xs else None
        dense = any(len(pts) > DENSE for pts in train)
        self.query_one("#cmp-loss", LineChart).set_series(series(train, not dense), x_range=x_range)
        self.query_one("#cmp-val", LineChart).set_series(series(val, True), x_range=x_range)
        measured = any(execs)
        chart = self.query_one("#cmp-exec", LineChart)
        chart.display = measured
        lines = series(execs, True)
        chart.set_series(lines, x_range=x_range, y_range=share_range(lines))
        notes = []
        if not measured:
            notes.append("exec accuracy: not measured by these runs (eval.exec = true measures it)")
        partial = [r.name for r in runs if r.partial]
        if partial:
            notes.append(f"read in part (very long event files): {', '.join(partial)}")
        note = self.query_one("#cmp-chart-note", Static)
        note.update(Text("\n".join(notes), style="dim"))
        note.display = bool(notes)

    def _unchanged(self, table_id: str, content: object) -> bool:
        if self._shown.get(table_id) == content:
            return True
        self._shown[table_id] = content
        return False

    def _columns(
        self, table: DataTable, first: str, runs: list[ComparedRun], styles: list[tuple[str, str]]
    ) -> None:
        table.clear(columns=True)
        table.add_column(first, key="_label")
        for i, (r, (color, marker)) in enumerate(zip(runs, styles, strict=True)):
            table.add_column(Text(f"{marker} {r.name}", style=f"bold {color}"), key=f"run{i}")

    def _show_metrics(self, runs: list[ComparedRun], styles: list[tuple[str, str]]) -> None:
        table = self.query_one("#cmp-metrics", DataTable)
        rows = metric_rows(runs)
        if self._unchanged("metrics", ([r.name for r in runs], rows)):
            return
        self._columns(table, "", runs, styles)
        for row in rows:
            cells: list[Text] = [Text(row.label, style="dim")]
            for i, cell in enumerate(row.cells):
                # The best figure in bold green with a star: readable without colour too.
                cells.append(Text(cell + " ★", style="bold green") if i in row.best else Text(cell))
            table.add_row(*cells, key=row.label)

    def _show_diff(self, runs: list[ComparedRun], styles: list[tuple[str, str]]) -> None:
        table = self.query_one("#cmp-diff", DataTable)
        diff = preset_diff([r.preset for r in runs])
        if self._unchanged("diff", ([r.name for r in runs], diff, [r.preset_note for r in runs])):
            return
        self._columns(table, "key", runs, styles)
        for key, values in diff:
            cells = [Text(key)]
            for i, value in enumerate(values):
                # The first marked run is the reference: what differs from it stands out.
                same = i > 0 and value == values[0]
                cells.append(Text(value, style="dim" if same else "bold yellow" if i else "bold"))
            table.add_row(*cells, key=key)
        table.display = bool(diff)
        counted = f"{len(diff)} key differs" if len(diff) == 1 else f"{len(diff)} keys differ"
        self.query_one("#cmp-diff-heading", Static).update(
            Text.assemble(
                ("preset differences", "bold"),
                (f"  {counted} · yellow: unlike the first column" if diff else "", "dim"),
            )
        )
        notes = [f"{r.name}: {r.preset_note}" for r in runs if r.preset_note]
        if not diff:
            notes.insert(
                0, "the resolved presets are the same" + (" (as far as they could be read)" if notes else "")
            )
        note = self.query_one("#cmp-diff-note", Static)
        note.update(Text("\n".join(notes), style="dim"))
        note.display = bool(notes)
