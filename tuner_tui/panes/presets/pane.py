"""Presets pane: shipped and user presets, the fields people change, inline validation, memory
budget, save as a new preset, launch or smoke-test it as a detached run.

Validation goes through core.config.loader.validate_preset — the exact schema the CLI uses —
and each error line is shown under the field it names.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from core.units import fmt_bytes
from tuner_tui.panes import Pane

if TYPE_CHECKING:
    from tuner_tui.app import TunerApp

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
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
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
            (
                f.key
                for f in FIELDS
                if key == f.key or key.startswith(f.key + "[") or key.startswith(f.key + ".")
            ),
            None,
        )
        if hit is None:
            rest.append(line)
        else:
            tail = line[m.end() :] if m else line
            detail = tail.rsplit(": ", 1)[-1] if tail.startswith(" = ") else tail.lstrip(": ")
            per.setdefault(hit, []).append(detail or line)
    return per, rest


class PresetsPane(Pane, Horizontal):
    """Browse, edit, validate, estimate, save, launch."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save as"),
        Binding("ctrl+r", "launch", "Launch"),
        Binding("ctrl+t", "smoke", "Smoke test"),
        Binding("ctrl+z", "revert", "Revert"),
    ]

    app: TunerApp

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presets: list[Any] = []  # PresetFile
        self.current: Any = None  # PresetFile
        self.raw: dict[str, Any] = {}  # the file's data
        self.original: Any = None  # validated Preset of the file (None if invalid)
        self.edited: dict[str, Any] = {}
        self.valid: Any = None  # validated edited Preset
        self.errors: dict[str, list[str]] = {}
        self.general_errors: list[str] = []
        self._filling = False
        self._validate_timer: Timer | None = None
        self._estimate_key: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="preset-list-col"):
            yield Static("presets", classes="pane-title")
            yield OptionList(id="preset-list")
        with VerticalScroll(id="preset-form"):
            yield Static("", id="preset-info")
            for f in FIELDS:
                with Horizontal(classes="field-row"):
                    yield Label(f.label, classes="field-label")
                    if f.kind == "choice":
                        yield Select(
                            [(label, value) for label, value in f.choices],
                            allow_blank=False,
                            id=f.wid,
                            compact=True,
                        )
                    else:
                        yield Input(id=f.wid, compact=True, placeholder=f.hint)
                yield Static("", id=f"{f.wid}-error", classes="field-error")
            yield Static("", id="preset-errors")
            yield Static("", id="preset-estimate", classes="box")
            with Horizontal(classes="controls", id="preset-save-row"):
                yield Input(placeholder="new preset name", id="preset-save-name", compact=True)
                yield Button("Save as (^s)", id="preset-save", compact=True)
            with Horizontal(classes="controls", id="preset-run-row"):
                yield Button("Launch (^r)", id="preset-launch", compact=True, variant="primary")
                yield Button("Smoke test (^t)", id="preset-smoke", compact=True)
                yield Button("Revert (^z)", id="preset-revert", compact=True)
            yield Static("", id="preset-toml", classes="box")

    def on_mount(self) -> None:
        self.query_one("#preset-estimate", Static).border_title = "memory budget"
        self.query_one("#preset-toml", Static).border_title = "resolved preset"
        for f in FIELDS:
            self.query_one(f"#{f.wid}-error").display = False
        self.load_list()

    def focus_default(self) -> None:
        self.query_one("#preset-list", OptionList).focus()

    # ------------------------------------------------------------------ list

    def load_list(self, select: str | None = None) -> None:
        self._list(select)

    @work(thread=True, group="preset-list", exclusive=True, exit_on_error=False)
    def _list(self, select: str | None) -> None:
        from core.config.loader import list_presets

        try:
            presets = list_presets()
        except Exception as e:  # noqa: BLE001
            self.app.call_from_thread(self.app.notify, f"cannot list presets: {e}", severity="error")
            return
        self.app.call_from_thread(self._show_list, presets, select)

    def _show_list(self, presets: list[Any], select: str | None) -> None:
        self.presets = presets
        ol = self.query_one("#preset-list", OptionList)
        ol.clear_options()
        for pf in presets:
            # Shipped is the norm: only user presets carry a tag (at 80 columns the list is 19 wide).
            label = Text(pf.name, no_wrap=True, overflow="ellipsis")
            if not pf.shipped:
                label.append("  user", style="green")
            ol.add_option(Option(label, id=pf.name))
        want = select or (self.current.name if self.current else "quickstart")
        names = [pf.name for pf in presets]
        if want in names:
            ol.highlighted = names.index(want)
        elif presets:
            ol.highlighted = 0
        if ol.highlighted is not None:
            self._open(presets[ol.highlighted])

    @on(OptionList.OptionHighlighted, "#preset-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        pf = next((p for p in self.presets if p.name == event.option.id), None)
        if pf is not None and pf is not self.current and not self.dirty:
            self._open(pf)

    @on(OptionList.OptionSelected, "#preset-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        pf = next((p for p in self.presets if p.name == event.option.id), None)
        if pf is not None and (pf is not self.current or self.dirty):
            if self.dirty:
                self.app.notify(f"unsaved edits of {self.current.name} discarded")
            self._open(pf)
        if pf is not None:
            self.query_one(f"#{FIELDS[0].wid}").focus()

    # ------------------------------------------------------------------ form

    def _open(self, pf: Any) -> None:
        from core.config.loader import read_toml, validate_preset
        from core.errors import TunerError

        self.current = pf
        try:
            raw = read_toml(pf.path)
        except TunerError as e:
            raw = {}
            self.app.notify(str(e), severity="error")
        raw.setdefault("name", pf.name)
        self.raw = raw
        try:
            self.original = validate_preset(copy.deepcopy(raw), str(pf.path))
        except TunerError:
            self.original = None
        base = self.original.model_dump(mode="json") if self.original is not None else raw
        self._filling = True
        try:
            for f in FIELDS:
                value = get_path(base, f.key)
                if value is None:
                    value = get_path(raw, f.key)
                widget = self.query_one(f"#{f.wid}")
                if isinstance(widget, Select):
                    widget.value = value if any(value == v for _, v in f.choices) else f.choices[0][1]
                else:
                    widget.value = display_value(f, value)
        finally:
            self.call_after_refresh(self._end_fill)
        info = Text()
        info.append(pf.name, style="bold")
        info.append("  shipped" if pf.shipped else "  user preset", style="dim" if pf.shipped else "green")
        if raw.get("description"):
            info.append(f"\n{raw['description']}")
        if raw.get("follows"):
            info.append(f"\nfollows: {raw['follows']}", style="dim italic")
        info.append(f"\n{pf.path}", style="dim")
        self.query_one("#preset-info", Static).update(info)
        self.query_one("#preset-save-name", Input).value = ""
        self._validate()

    def _end_fill(self) -> None:
        self._filling = False

    @property
    def dirty(self) -> bool:
        return bool(self.changes())

    def _value_of(self, f: Field) -> Any:
        """The field's value as preset data (or an error string for the sources field)."""
        widget = self.query_one(f"#{f.wid}")
        if isinstance(widget, Select):
            return widget.value
        raw = widget.value.strip()
        if f.kind == "str":
            return raw
        if f.kind == "sources":
            original = get_path(self.raw, "data.sources") or []
            return parse_sources(raw, original if isinstance(original, list) else [])
        if f.kind == "targets":
            if raw in ("all-linear", '"all-linear"'):
                return "all-linear"
            return [t.strip().strip("\"'") for t in raw.strip("[]").split(",") if t.strip()]
        if f.kind == "int?" and raw == "":
            return None
        return parse_literal(raw)

    def edited_data(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(the preset data with the form applied, {field: parse error})."""
        data = copy.deepcopy(self.raw)
        problems: dict[str, str] = {}
        for f in FIELDS:
            value = self._value_of(f)
            if f.kind == "sources" and isinstance(value, str):
                problems[f.key] = value
                continue
            set_path(data, f.key, value)
        return data, problems

    def changes(self) -> dict[str, Any]:
        """{key: new value} for the fields that differ from the preset file."""
        if not self.current:
            return {}
        base = self.original.model_dump(mode="json") if self.original is not None else self.raw
        out: dict[str, Any] = {}
        for f in FIELDS:
            try:
                value = self._value_of(f)
            except Exception:  # noqa: BLE001 - not mounted yet
                continue
            if isinstance(value, str) and f.kind == "sources":
                out[f.key] = value
                continue
            old = get_path(base, f.key)
            if old is None:
                old = get_path(self.raw, f.key)
            if display_value(f, value) != display_value(f, old) or (type(value) is bool and value != old):
                out[f.key] = value
        return out

    @on(Input.Changed)
    @on(Select.Changed)
    def _field_changed(self, event: Input.Changed | Select.Changed) -> None:
        wid = event.control.id or ""
        if self._filling or not wid.startswith("f-"):
            return
        if self._validate_timer is not None:
            self._validate_timer.stop()
        self._validate_timer = self.set_timer(0.25, self._validate)

    def _validate(self) -> None:
        from core.config.loader import validate_preset
        from core.errors import TunerError

        if self.current is None:
            return
        data, problems = self.edited_data()
        self.errors = {k: [v] for k, v in problems.items()}
        self.general_errors = []
        self.valid = None
        if not problems:
            try:
                self.valid = validate_preset(copy.deepcopy(data), str(self.current.path))
            except TunerError as e:
                per, rest = field_errors(e.message)
                self.errors, self.general_errors = per, rest
        self._show_errors()
        self._show_toml()
        self._estimate()

    def _show_errors(self) -> None:
        for f in FIELDS:
            err = self.query_one(f"#{f.wid}-error", Static)
            widget = self.query_one(f"#{f.wid}")
            msgs = self.errors.get(f.key)
            err.display = bool(msgs)
            widget.set_class(bool(msgs), "-invalid")
            err.update(Text("↳ " + "; ".join(msgs), style="red") if msgs else "")
        box = self.query_one("#preset-errors", Static)
        changes = self.changes()
        if self.general_errors or self.errors:
            n = sum(len(v) for v in self.errors.values()) + len(self.general_errors)
            t = Text(f"✗ {n} problem{'s' if n != 1 else ''}", style="bold red")
            for line in self.general_errors:
                t.append(f"\n{line.split(': ', 1)[-1] if line.count(': ') >= 1 else line}", style="red")
            box.update(t)
        else:
            t = Text("✓ valid", style="bold green")
            if changes:
                t.append(
                    f"  ·  {len(changes)} change{'s' if len(changes) != 1 else ''}: " + ", ".join(changes),
                    style="yellow",
                )
            box.update(t)

    def _show_toml(self) -> None:
        from core.config.loader import dump_preset

        box = self.query_one("#preset-toml", Static)
        if self.valid is None:
            box.update(Text("fix the problems above to see the resolved preset", style="dim"))
            return
        box.update(Text(dump_preset(self.valid).rstrip(), style="dim"))

    # ------------------------------------------------------------------ memory estimate

    def _estimate(self) -> None:
        if self.valid is None:
            return
        key = self.valid.model_dump_json()
        if key == self._estimate_key:
            return
        self._estimate_key = key
        self.query_one("#preset-estimate", Static).update(Text("estimating…", style="dim"))
        self._run_estimate(self.valid, key)

    @work(thread=True, group="preset-estimate", exclusive=True, exit_on_error=False)
    def _run_estimate(self, preset: Any, key: str) -> None:
        from tuner_tui import backend

        budget = backend.memory_budget(preset)
        self.app.call_from_thread(self._show_estimate, budget, key)

    def _show_estimate(self, budget: Any, key: str) -> None:
        if key != self._estimate_key:
            return
        self.query_one("#preset-estimate", Static).update(render_budget(budget))

    # ------------------------------------------------------------------ actions

    @on(Button.Pressed, "#preset-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Input.Submitted, "#preset-save-name")
    def _save_submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        from core.config.loader import user_presets_dir

        name_input = self.query_one("#preset-save-name", Input)
        name = name_input.value.strip()
        if not name:
            name_input.focus()
            self.app.notify("type a name for the new preset, then Enter", severity="warning")
            return
        if not NAME_RE.match(name):
            self.app.notify(
                "a preset name is letters, digits, '.', '_' or '-' (starting with a letter or digit)",
                severity="error",
            )
            return
        self._validate()
        if self.valid is None:
            self.app.notify("fix the problems first: an invalid preset is not saved", severity="error")
            return
        target = user_presets_dir() / f"{name}.toml"
        shadows = any(p.name == name and p.shipped for p in self.presets)
        if target.exists() or shadows:
            from tuner_tui.widgets.dialogs import ConfirmScreen

            what = f"{target} exists" if target.exists() else f"a user preset {name!r} hides the shipped one"
            self.app.push_screen(
                ConfirmScreen("Save preset", f"{what}. Save anyway?", yes="Save"),
                lambda yes: self._save(name, target) if yes else None,
            )
            return
        self._save(name, target)

    def _save(self, name: str, target: Path) -> None:
        from core.config.loader import dump_preset, validate_preset
        from core.errors import TunerError

        data, _ = self.edited_data()
        data["name"] = name
        try:
            preset = validate_preset(data, str(target))
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".tmp-{target.name}")
            tmp.write_text(dump_preset(preset), encoding="utf-8")
            os.replace(tmp, target)
        except (TunerError, OSError) as e:
            self.app.notify(f"not saved: {e}", severity="error")
            return
        self.app.notify(f"saved {target}")
        self.current = None
        self.load_list(select=name)
        self.app.data._load_choices()

    @on(Button.Pressed, "#preset-launch")
    def _launch_pressed(self) -> None:
        self.action_launch()

    @on(Button.Pressed, "#preset-smoke")
    def _smoke_pressed(self) -> None:
        self.action_smoke()

    @on(Button.Pressed, "#preset-revert")
    def _revert_pressed(self) -> None:
        self.action_revert()

    def action_revert(self) -> None:
        if self.current is not None:
            self._open(self.current)

    def action_launch(self) -> None:
        self._start(smoke=False)

    def action_smoke(self) -> None:
        self._start(smoke=True)

    def launch_request(self) -> tuple[str, list[str]] | None:
        """(preset name, --set overrides) for the current form, or None when invalid."""
        from tuner_tui.launcher import overrides_from

        self._validate()
        if self.current is None or self.valid is None:
            return None
        return self.current.name, overrides_from(self.changes())

    def _start(self, smoke: bool) -> None:
        req = self.launch_request()
        if req is None:
            self.app.notify("fix the problems first (or pick a preset)", severity="error")
            return
        target, overrides = req
        what = "smoke test (a few steps)" if smoke else "training run"
        extra = f" with {len(overrides)} change(s): " + ", ".join(overrides) if overrides else ""
        from tuner_tui.widgets.dialogs import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(
                "Launch",
                f"Start a {what} of {target}{extra}?\n\nIt runs as its own process; quitting "
                f"tuner-tui does not stop it. Runs go to {self.app.runs_root}.",
                yes="Launch",
            ),
            lambda yes: self.app.launch_run(target, overrides=overrides, smoke=smoke) if yes else None,
        )


def _get(obj: Any, name: str, index: int, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    if hasattr(obj, name):
        return getattr(obj, name)
    if isinstance(obj, (tuple, list)) and len(obj) > index:
        return obj[index]
    return default


def render_budget(budget: Any) -> Any:
    """Components as bars against the detected device memory."""
    if budget.estimate is None:
        return Text(budget.reason or "no estimate", style="dim")
    est = budget.estimate
    components = _get(est, "components", 0, []) or []
    total = _get(est, "total", 1) or sum(_get(c, "bytes", 1, 0) or 0 for c in components)
    dev_name, dev_bytes = budget.device if budget.device else ("device", None)
    scale = max(total, dev_bytes or 0) or 1
    width = 24
    lines: list[Text] = []
    if dev_bytes:
        lines.append(Text.assemble(("device ", "dim"), (f"{dev_name}: {fmt_bytes(dev_bytes)}", "bold")))
    for c in components:
        name, n, note = _get(c, "name", 0, "?"), _get(c, "bytes", 1, 0) or 0, _get(c, "note", 2, "") or ""
        bar = "█" * max(1 if n else 0, round(n / scale * width))
        lines.append(
            Text.assemble(
                (f"{str(name)[:16]:<16} ", ""),
                (bar.ljust(width), "cyan"),
                f" {fmt_bytes(n):>10}",
                (f"  {note}" if note else "", "dim"),
            )
        )
    fits = dev_bytes is None or total <= dev_bytes
    bar = "█" * max(1, round(total / scale * width))
    t = Text.assemble(
        (f"{'total':<16} ", "bold"),
        (bar.ljust(width), "green" if fits else "red"),
        (f" {fmt_bytes(total):>10}", "bold"),
    )
    if dev_bytes:
        t.append(
            f"  {100 * total / dev_bytes:.0f}% of {fmt_bytes(dev_bytes)}", style="green" if fits else "red"
        )
        t.append("  ✓ fits" if fits else "  ✗ does not fit", style="bold green" if fits else "bold red")
    lines.append(t)
    assumptions = _get(est, "assumptions", 2, None)
    if assumptions:
        if isinstance(assumptions, (list, tuple)):
            assumptions = "; ".join(str(a) for a in assumptions)
        lines.append(Text(f"assumes: {assumptions}", style="dim italic"))
    return Group(*lines)
