"""Presets pane: shipped and user presets, the fields people change, inline validation, memory
budget, save as a new preset, launch or smoke-test it as a detached run.

Validation goes through core.config.loader.validate_preset — the exact schema the CLI uses —
and each error line is shown under the field it names.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from tuner_tui.messages import LaunchRequested, PresetSaved
from tuner_tui.panes.presets.budget import memory_budget, render_budget
from tuner_tui.panes.presets.fields import (
    FIELDS,
    NAME_RE,
    Field,
    display_value,
    field_errors,
    get_path,
    parse_literal,
    parse_sources,
    set_path,
)
from tuner_tui.settings import Settings
from tuner_tui.widgets.dialogs import ConfirmScreen


class PresetsPane(Horizontal):
    """Browse, edit, validate, estimate, save, launch."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save as"),
        Binding("ctrl+r", "launch", "Launch"),
        Binding("ctrl+t", "smoke", "Smoke test"),
        Binding("ctrl+z", "revert", "Revert"),
    ]

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
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
        except Exception as e:
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
            except Exception:  # not mounted yet
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
        budget = memory_budget(preset, self.settings.estimate_device, self.settings.device_memory)
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
        self.post_message(PresetSaved(name))

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
        self.app.push_screen(
            ConfirmScreen(
                "Launch",
                f"Start a {what} of {target}{extra}?\n\nIt runs as its own process; quitting "
                f"tuner-tui does not stop it. Runs go to {self.settings.runs_root}.",
                yes="Launch",
            ),
            lambda yes: self.post_message(LaunchRequested(target, overrides, smoke)) if yes else None,
        )
