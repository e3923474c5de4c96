"""The merge dialog: method, weights, density and the new run's name for `tuner merge` (keyboard first)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from tuner_tui.jobs import default_merge_name, equal_weights, merge_methods

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # what `tuner merge --out` accepts
DENSITY_METHODS = ("ties", "dare_ties", "dare_linear")  # the methods that keep a fraction of each delta


@dataclass(frozen=True)
class MergeChoice:
    """What the user picked: `tuner merge RUNS --out out --method method --weights … [--density d]`."""

    out: str
    method: str
    weights: list[float] | None  # None: equal, the CLI's default (no rounding of 1/3)
    density: float | None
    force: bool


class MergeScreen(ModalScreen[MergeChoice | None]):
    """Merge the marked runs' adapters into a new run; dismisses with a MergeChoice, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "merge", "Merge"),
    ]

    DEFAULT_CSS = """
    MergeScreen { align: center middle; }
    MergeScreen > Vertical {
        width: 76; max-width: 98%; height: auto; max-height: 100%; overflow-y: auto;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    MergeScreen #mg-runs { margin: 1 0; }
    MergeScreen .mg-row { height: 1; margin-bottom: 1; }
    MergeScreen .mg-row Label { width: 10; color: $text-muted; }
    MergeScreen .mg-row Input, MergeScreen .mg-row Select { width: 1fr; }
    MergeScreen Checkbox { border: none; padding: 0; height: 1; }
    MergeScreen #mg-error { color: $error; height: auto; }
    MergeScreen Horizontal#mg-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    MergeScreen Button { margin-left: 1; }
    """

    def __init__(self, run_names: list[str]) -> None:
        super().__init__()
        self.run_names = run_names

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Merge {len(self.run_names)} adapters"
            yield Static(Text(" + ".join(self.run_names)), id="mg-runs")
            with Horizontal(classes="mg-row"):
                yield Label("method")
                methods = merge_methods()
                yield Select(
                    [(m, m) for m in methods],
                    value=methods[0],
                    allow_blank=False,
                    id="mg-method",
                    compact=True,
                )
            with Horizontal(classes="mg-row"):
                yield Label("weights")
                yield Input(equal_weights(len(self.run_names)), id="mg-weights", compact=True)
            with Horizontal(classes="mg-row"):
                yield Label("density")
                yield Input(
                    placeholder="fraction kept, for ties and dare_* (e.g. 0.5)", id="mg-density", compact=True
                )
            with Horizontal(classes="mg-row"):
                yield Label("new run")
                yield Input(default_merge_name(self.run_names), id="mg-out", compact=True)
            yield Checkbox("replace a run of that name (--force)", id="mg-force", compact=True)
            yield Static("", id="mg-error")
            with Horizontal(id="mg-buttons"):
                yield Button("Merge (ctrl+s)", variant="primary", id="mg-go", compact=True)
                yield Button("Cancel (esc)", id="mg-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#mg-method", Select).focus()
        self._method_changed()

    @on(Select.Changed, "#mg-method")
    def _method_changed(self) -> None:
        self.query_one("#mg-density", Input).disabled = self._method() not in DENSITY_METHODS

    def _method(self) -> str:
        return str(self.query_one("#mg-method", Select).value)

    def choice(self) -> MergeChoice | str:
        """The merge to run, or what is wrong with the fields (one line)."""
        n = len(self.run_names)
        text = self.query_one("#mg-weights", Input).value.strip()
        try:
            weights = [float(w) for w in text.split(",") if w.strip()]
        except ValueError:
            return "weights: numbers separated by commas, e.g. " + equal_weights(n)
        if len(weights) != n:
            return f"weights: one per run ({n}), e.g. {equal_weights(n)}"
        density = None
        text = self.query_one("#mg-density", Input).value.strip()
        if self._method() in DENSITY_METHODS and text:
            try:
                density = float(text)
            except ValueError:
                density = -1.0
            if not 0 < density <= 1:
                return "density: a fraction above 0 and at most 1, e.g. 0.5"
        out = self.query_one("#mg-out", Input).value.strip()
        if not _NAME.match(out):
            return "new run: letters, digits, '.', '_' and '-' (not starting with '.' or '-')"
        force = self.query_one("#mg-force", Checkbox).value
        return MergeChoice(out, self._method(), None if text == equal_weights(n) else weights, density, force)

    @on(Input.Submitted)
    @on(Button.Pressed, "#mg-go")
    def action_merge(self) -> None:
        picked = self.choice()
        if isinstance(picked, str):
            self.query_one("#mg-error", Static).update(picked)
            return
        self.dismiss(picked)

    @on(Button.Pressed, "#mg-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
