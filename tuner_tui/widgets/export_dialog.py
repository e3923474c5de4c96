"""The export dialog: format, quantization, Ollama and overwrite for `tuner export` (keyboard first)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

FORMATS = (
    ("merged", "a standalone transformers model (adapter merged in)"),
    ("gguf", "one file for llama.cpp and Ollama"),
    ("adapter", "the PEFT LoRA folder, with its tokenizer"),
)
# `tuner export --format merged --quant`: the dtype to save in; "" keeps the run's own.
MERGED_DTYPES = (
    ("", "the run's dtype, as trained"),
    ("f32", "float32"),
    ("bf16", "bfloat16"),
    ("f16", "float16"),
)
AS_TRAINED = ""


@dataclass(frozen=True)
class ExportChoice:
    """What the user picked: `tuner export RUN --format fmt [--quant quant] [--ollama] [--force]`."""

    fmt: str
    quant: str | None
    ollama: bool
    force: bool


def _short(reason: str) -> str:
    """The part of a reason before its colon ("needs llama.cpp's quantizer")."""
    return reason.split(":", 1)[0]


class ExportScreen(ModalScreen[ExportChoice | None]):
    """Pick how to export a run; dismisses with an ExportChoice, or None (Escape, Cancel).

    `gguf_quants` is core.export.gguf.available_quants(): each GGUF type → None when this machine
    can write it, else why not; those are listed, dimmed, with the reason, and cannot be picked.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "export", "Export"),
    ]

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical {
        width: 76; max-width: 98%; height: auto; max-height: 100%; overflow-y: auto;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ExportScreen RadioSet { layout: horizontal; border: none; padding: 0; height: auto; width: 1fr; }
    ExportScreen RadioSet > RadioButton { margin-right: 2; }
    ExportScreen .ex-label { color: $text-muted; }
    ExportScreen #ex-format-help { color: $text-muted; margin-bottom: 1; }
    ExportScreen #ex-quant { height: auto; max-height: 7; border: round $panel-lighten-2; }
    ExportScreen #ex-quant-note { color: $text-muted; height: auto; }
    ExportScreen Checkbox { border: none; padding: 0; height: 1; }
    ExportScreen Horizontal { height: auto; align-horizontal: right; }
    ExportScreen Button { margin-left: 1; }
    """

    def __init__(self, run_name: str, gguf_quants: dict[str, str | None], fmt: str = "merged") -> None:
        super().__init__()
        self.run_name = run_name
        self.gguf_quants = gguf_quants
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Export {self.run_name}"
            yield Static("format", classes="ex-label")
            with RadioSet(id="ex-format", compact=True):
                for name, _ in FORMATS:
                    yield RadioButton(name, value=name == self.fmt, id=f"ex-{name}", compact=True)
            yield Static("", id="ex-format-help")
            yield Static("quantization", classes="ex-label")
            yield OptionList(id="ex-quant")
            yield Static("", id="ex-quant-note")
            yield Checkbox("Ollama Modelfile next to the GGUF (--ollama)", id="ex-ollama", compact=True)
            yield Checkbox(
                "replace an earlier export in the same folder (--force)", id="ex-force", compact=True
            )
            yield Static("", id="ex-target")
            with Horizontal():
                yield Button("Export (ctrl+s)", variant="primary", id="ex-go", compact=True)
                yield Button("Cancel (esc)", id="ex-cancel", compact=True)

    def on_mount(self) -> None:
        self._show_format(self.fmt)
        self.query_one(RadioSet).focus()

    # ------------------------------------------------------------------ state

    def _show_format(self, fmt: str) -> None:
        self.fmt = fmt
        self.query_one("#ex-format-help", Static).update(dict(FORMATS)[fmt])
        quant = self.query_one("#ex-quant", OptionList)
        quant.clear_options()
        note = ""
        if fmt == "merged":
            quant.add_options(
                Option(f"{q or 'default':<12}{what}", id=q or AS_TRAINED) for q, what in MERGED_DTYPES
            )
        elif fmt == "gguf":
            for q, reason in self.gguf_quants.items():
                if reason is None:
                    quant.add_option(Option(q, id=q))
                else:
                    quant.add_option(
                        Option(Text(f"{q:<12}✗ {_short(reason)}", style="dim"), id=q, disabled=True)
                    )
            reasons = sorted({r for r in self.gguf_quants.values() if r})
            note = "\n".join(f"✗ {r}" for r in reasons)
        else:
            quant.add_option(Option(Text("— the adapter is copied as trained", style="dim"), disabled=True))
        self.query_one("#ex-quant-note", Static).update(Text(note))
        first = "f16" if fmt == "gguf" and self.gguf_quants.get("f16", "x") is None else None
        index = next(
            (
                i
                for i in range(quant.option_count)
                if not quant.get_option_at_index(i).disabled
                and (first is None or quant.get_option_at_index(i).id == first)
            ),
            None,
        )
        quant.highlighted = index
        ollama = self.query_one("#ex-ollama", Checkbox)
        ollama.disabled = fmt != "gguf"
        if ollama.disabled:
            ollama.value = False
        self._show_target()

    def choice(self) -> ExportChoice:
        """What the dialog would export now."""
        quant = self.query_one("#ex-quant", OptionList)
        picked = None
        if self.fmt != "adapter" and quant.highlighted is not None:
            option = quant.get_option_at_index(quant.highlighted)
            picked = None if option.disabled else (option.id or None)
        return ExportChoice(
            self.fmt,
            picked,
            self.query_one("#ex-ollama", Checkbox).value,
            self.query_one("#ex-force", Checkbox).value,
        )

    def _show_target(self) -> None:
        c = self.choice()
        name = "-".join(p for p in (c.fmt, c.quant or ("f16" if c.fmt == "gguf" else None)) if p)
        self.query_one("#ex-target", Static).update(
            Text.assemble(
                ("→ ", "bold"), (f"{self.run_name}/exports/{name}/", ""), ("  (with manifest.json)", "dim")
            )
        )

    # ------------------------------------------------------------------ events

    @on(RadioSet.Changed, "#ex-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        self._show_format(str(event.pressed.id).removeprefix("ex-"))

    @on(OptionList.OptionHighlighted, "#ex-quant")
    def _quant_changed(self) -> None:
        self._show_target()

    @on(OptionList.OptionSelected, "#ex-quant")
    def _quant_selected(self) -> None:
        self.query_one("#ex-go", Button).focus()  # Enter on a quant: the next Enter exports

    @on(Button.Pressed, "#ex-go")
    def action_export(self) -> None:
        self.dismiss(self.choice())

    @on(Button.Pressed, "#ex-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
