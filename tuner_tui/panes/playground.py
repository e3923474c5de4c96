"""Playground pane: ask a model for a command and watch the answer stream; A/B two models.

Models load in worker threads with core.run_model.load_for_inference (torch/transformers are
imported there, on first use only) and answer through core.generate.stream_reply; generated
pieces are posted to the UI with call_from_thread. The extracted command is checked
with core.data.safety (through core.generate.answer_from_text) and flagged; it runs only when the
user asks (ctrl+r), in the bubblewrap sandbox on a copy of a fixture (tuner_tui.sandbox_run) —
never on this machine.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from core.exec_eval.fixtures import fixture_names
from core.terminal_text import visible
from tuner_tui import hf_loading
from tuner_tui.history import PromptHistory
from tuner_tui.messages import RunsChanged, RunsWanted, SelectRun
from tuner_tui.model_choices import ModelChoice, model_choices
from tuner_tui.settings import Settings

NO_SELECTION = Select.NULL if hasattr(Select, "NULL") else Select.BLANK  # textual ≥ 8 / older

NONE = "none"
MAX_LOADED = 3  # models kept in memory at once


class PromptInput(Input):
    """The prompt line: ↑/↓ walk the history."""

    BINDINGS = [
        Binding("up", "history(-1)", "Previous prompt", show=False),
        Binding("down", "history(1)", "Next prompt", show=False),
    ]

    history: PromptHistory | None = None

    def action_history(self, direction: int) -> None:
        if self.history is None:
            return
        value = self.history.previous(self.value) if direction < 0 else self.history.next()
        if value is not None:
            self.value = value
            self.cursor_position = len(value)


class AnswerPanel(Vertical):
    """One side of the comparison: status, streamed text, extracted command and its risk."""

    def __init__(self, side: str, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.side = side
        self.clock = clock  # the app's clock: a frozen one (tests) shows "done in 0.0 s"
        self.text = ""
        self.started = 0.0
        self.pieces = 0
        self.answer: Any = None  # core.generate.Answer once finished

    def compose(self) -> ComposeResult:
        yield Static("", classes="answer-status")
        with VerticalScroll(classes="answer-scroll"):
            yield Static("", classes="answer-text")
        yield Static("", classes="answer-command")
        yield Static("", classes="answer-run")

    def on_mount(self) -> None:
        self.border_title = f"{self.side}"

    def reset(self, label: str, status: str) -> None:
        self.border_title = f"{self.side}: {label}"
        self.text = ""
        self.pieces = 0
        self.answer = None
        self.started = self.clock()
        self.query_one(".answer-run", Static).update("")
        self.query_one(".answer-text", Static).update("")
        self.query_one(".answer-command", Static).update("")
        self.set_status(status)

    def set_status(self, status: str, style: str = "dim") -> None:
        self.query_one(".answer-status", Static).update(Text(status, style=style))

    def append(self, piece: str) -> None:
        self.text += piece
        self.pieces += 1
        self.query_one(".answer-text", Static).update(Text(visible(self.text)))  # model output is not ours
        self.query_one(".answer-scroll", VerticalScroll).scroll_end(animate=False)

    def finish(self, answer: Any, syntax_error: str | None = None) -> None:
        """Show the extracted command, whether it parses as bash, and its risk."""
        self.answer = answer
        took = self.clock() - self.started
        self.set_status(f"done in {took:.1f} s ({self.pieces} pieces)")
        t = Text()
        if answer.command:
            t.append("$ ", style="dim")
            t.append(visible(answer.command), style="dim" if syntax_error else "bold")
            if syntax_error:  # prose or broken code: say so rather than dress it up as a command
                t.append(f"\n✗ not a bash command ({syntax_error})", style="yellow")
            if answer.dangerous:
                t.append(f"\n⚠ DANGEROUS: {answer.dangerous}", style="bold red")
            elif not syntax_error:
                t.append("\n✓ no destructive pattern found", style="green")
        else:
            t.append("no command found in the answer", style="yellow")
        self.query_one(".answer-command", Static).update(t)

    def fail(self, message: str) -> None:
        self.set_status(message, style="red")

    def show_run(self, title: str, lines: list[tuple[str, str]]) -> None:
        """What the command did in the sandbox: exit status, output head, files changed."""
        t = Text(title + "\n", style="bold")
        for text, style in lines:
            t.append(visible(text) + "\n", style=style)  # the command's output is not ours either
        self.query_one(".answer-run", Static).update(t)


class PlaygroundPane(Vertical):
    """Pick model A (and optionally B), type a prompt, Enter."""

    BINDINGS = [
        Binding("ctrl+g", "generate", "Generate"),
        Binding("ctrl+o", "swap", "Swap A/B"),
        Binding("ctrl+r", "run_sandbox", "Run in sandbox"),
    ]

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.choices: dict[str, ModelChoice] = {}
        self.models: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # core.run_model.Loaded
        self.history = PromptHistory()
        self._pending_run: Path | None = None
        self._options_sig: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="controls", id="pg-models"):
            yield Label("A", classes="side-label")
            yield Select([], prompt="model A: a run's adapter or its base model", id="pg-a", compact=True)
            yield Label("B", classes="side-label")
            yield Select([("— none —", NONE)], value=NONE, allow_blank=False, id="pg-b", compact=True)
        with Horizontal(classes="controls", id="pg-prompt-row"):
            prompt = PromptInput(
                placeholder="describe a shell task · Enter: generate · ↑↓: history · Esc: leave",
                id="pg-prompt",
                compact=True,
            )
            prompt.history = self.history
            yield prompt
            yield Button("Go", id="pg-go", compact=True, variant="primary")
        with Horizontal(classes="controls", id="pg-sandbox-row"):
            yield Label("sandbox: run the answers on")
            yield Select(
                [(name, name) for name in fixture_names()],
                prompt="pick a fixture",
                id="pg-fixture",
                compact=True,
            )
            yield Button("Run ▶", id="pg-run", compact=True)
        with Horizontal(id="pg-answers"):
            yield AnswerPanel("A", self.settings.clock, id="pg-out-a", classes="answer")
            yield AnswerPanel("B", self.settings.clock, id="pg-out-b", classes="answer")
        yield Static(
            Text(
                "commands run only on ctrl+r, in a bubblewrap sandbox on a copy of a fixture, never on this machine",
                style="dim",
            ),
            id="pg-note",
        )

    def on_mount(self) -> None:
        self.query_one("#pg-out-b").display = False

    def focus_default(self) -> None:
        self.query_one("#pg-prompt", Input).focus()

    # ------------------------------------------------------------------ model choices

    @on(RunsChanged)
    def _runs_changed(self, message: RunsChanged) -> None:
        self._options(message.infos)

    @work(thread=True, group="pg-options", exclusive=True, exit_on_error=False)
    def _options(self, infos: list[Any]) -> None:
        options = model_choices(infos)  # reads checkpoint folders: off the UI thread
        self.app.call_from_thread(self._set_options, options)

    def _set_options(self, options: list[tuple[str, ModelChoice]]) -> None:
        sig = tuple(label for label, _ in options)
        a, b = self.query_one("#pg-a", Select), self.query_one("#pg-b", Select)
        # What A and B show, looked up before the keys ("m0", "m1", …) point at the new list.
        old_a = self._choice_of(a.value)
        old_b = self._choice_of(b.value)
        self.choices = {f"m{i}": c for i, (_, c) in enumerate(options)}
        if sig == self._options_sig:
            return
        first = self._options_sig is None
        self._options_sig = sig
        items = [(c.label, key) for key, c in self.choices.items()]
        a.set_options(items)
        b.set_options([("— none —", NONE), *items])
        self._select(a, old_a)
        self._select(b, old_b, default=NONE)
        if self._pending_run is not None:
            self.select_run(self._pending_run)
        elif (
            first and (newest := self._choice_of(a.value)) is not None and not newest.base and newest.run_dir
        ):
            self.select_run(Path(newest.run_dir))  # first sight: the newest adapter against its base

    def _choice_of(self, value: Any) -> ModelChoice | None:
        return self.choices.get(value) if isinstance(value, str) else None

    def _select(self, select: Select, choice: ModelChoice | None, default: Any = None) -> None:
        if choice is not None:
            # The same choice; else one of the same label: a base model is read from the newest run
            # that has it, so its key moves when a newer run (a merge, say) appears.
            same = [k for k, c in self.choices.items() if c.key == choice.key]
            same = same or [k for k, c in self.choices.items() if c.label == choice.label]
            if same:
                select.value = same[0]
                return
        if default is not None:
            select.value = default
        elif self.choices and select.value is NO_SELECTION:
            select.value = next(iter(self.choices))

    @on(SelectRun)
    def _select_requested(self, message: SelectRun) -> None:
        self.select_run(message.run_dir)

    def select_run(self, run_dir: Path) -> None:
        """A = the run's adapter (or newest checkpoint), B = its base model: the A/B that matters."""
        run_dir = Path(run_dir)
        mine = [
            (k, c) for k, c in self.choices.items() if c.run_dir and Path(c.run_dir) == run_dir and not c.base
        ]
        if not mine:
            self._pending_run = run_dir
            self.post_message(RunsWanted())
            return
        self._pending_run = None
        adapter = next((k for k, c in mine if c.checkpoint is None and c.export is None), mine[-1][0])
        self.query_one("#pg-a", Select).value = adapter
        base = next((k for k, c in self.choices.items() if c.base), None)
        if base is not None:
            self.query_one("#pg-b", Select).value = base

    @on(Select.Changed, "#pg-b")
    def _b_changed(self, event: Select.Changed) -> None:
        self.query_one("#pg-out-b").display = event.value not in (NONE, NO_SELECTION)

    def action_swap(self) -> None:
        a, b = self.query_one("#pg-a", Select), self.query_one("#pg-b", Select)
        if b.value in (NONE, NO_SELECTION) or a.value is NO_SELECTION:
            return
        a.value, b.value = b.value, a.value

    # ------------------------------------------------------------------ generation

    @on(Input.Submitted, "#pg-prompt")
    @on(Button.Pressed, "#pg-go")
    def _submit(self) -> None:
        self.action_generate()

    def action_generate(self) -> None:
        prompt = self.query_one("#pg-prompt", Input).value.strip()
        if not prompt:
            self.app.notify("type a prompt first", severity="warning")
            return
        a = self._choice_of(self.query_one("#pg-a", Select).value)
        if a is None:
            self.app.notify(
                "pick model A first: a run's adapter or its base model (no runs yet? train one in Presets, 2)",
                severity="warning",
            )
            return
        self.history.add(prompt)
        b = self._choice_of(self.query_one("#pg-b", Select).value)
        self._run_side(self.query_one("#pg-out-a", AnswerPanel), a, prompt)
        if b is not None:
            self._run_side(self.query_one("#pg-out-b", AnswerPanel), b, prompt)

    def _run_side(self, panel: AnswerPanel, choice: ModelChoice, prompt: str) -> None:
        loaded = choice.key in self.models
        panel.reset(
            choice.label, "generating…" if loaded else "loading the model (the first load imports torch)…"
        )
        self._generate(panel, choice, prompt)

    @work(thread=True, exit_on_error=False)
    def _generate(self, panel: AnswerPanel, choice: ModelChoice, prompt: str) -> None:
        from textual.worker import get_current_worker

        from core.generate import answer_from_text, stream_reply

        worker = get_current_worker()
        call = self.app.call_from_thread
        try:
            model = self._model(choice)
        except Exception as e:  # missing adapter, offline hub model, …
            call(panel.fail, f"cannot load {choice.label}: {e}")
            return
        call(panel.set_status, "generating…")
        text = ""
        try:
            for piece in stream_reply(model, prompt):
                if worker.is_cancelled:
                    return
                text += piece
                call(panel.append, piece)
        except Exception as e:
            call(panel.fail, f"generation failed: {type(e).__name__}: {e}")
            return
        answer = answer_from_text(prompt, text.strip())
        from core.data.extract import prose_reason
        from core.data.syntax import bash_syntax_error  # may run `bash -n`: here, not on the UI thread

        problem = (
            (bash_syntax_error(answer.command) or prose_reason(answer.command)) if answer.command else None
        )
        call(panel.finish, answer, problem)

    # ------------------------------------------------------------------ the sandbox

    @on(Button.Pressed, "#pg-run")
    def _run_pressed(self) -> None:
        self.action_run_sandbox()

    def action_run_sandbox(self) -> None:
        """Run the answers' commands (A, and B when shown) in the sandbox on the chosen fixture."""
        panels = [
            p for p in self.query(AnswerPanel) if p.display and p.answer is not None and p.answer.command
        ]
        if not panels:
            self.app.notify("generate an answer with a command first (Enter)", severity="warning")
            return
        fixture = self.query_one("#pg-fixture", Select).value
        if fixture in (NO_SELECTION, None):
            self.app.notify("pick a fixture to run the answers on (the 'run on' list)", severity="warning")
            return
        for p in panels:
            p.query_one(".answer-run", Static).update(
                Text(f"running in the sandbox on {fixture}…", style="dim")
            )
        self._sandbox([(p, p.answer.command) for p in panels], str(fixture))

    @work(thread=True, exit_on_error=False, group="sandbox", exclusive=True)
    def _sandbox(self, jobs: list[tuple[AnswerPanel, str]], fixture: str) -> None:
        from tuner_tui import sandbox_run

        call = self.app.call_from_thread
        problem = sandbox_run.problem()
        if problem:  # refuse; never fall back to running on the host
            for panel, _ in jobs:
                call(panel.show_run, "not run", [(problem, "red")])
            return
        try:
            runs, same = sandbox_run.run_commands([cmd for _, cmd in jobs], fixture)
        except Exception as e:  # a fixture that fails to build: one line, the pane stays usable
            for panel, _ in jobs:
                call(panel.show_run, "not run", [(f"{type(e).__name__}: {e}", "red")])
            return
        for (panel, _), run in zip(jobs, runs, strict=True):
            call(panel.show_run, f"in the sandbox on {fixture}:", sandbox_run.describe(run))
        if same is not None:
            verdict = "A and B did the same thing" if same else "A and B did different things"
            call(self.app.notify, f"{verdict} on {fixture} (output and files compared)")

    def _model(self, choice: ModelChoice) -> Any:
        """(worker) A loaded model (core.run_model.Loaded) from the cache, or load it (at most MAX_LOADED kept)."""
        key = choice.key
        if key in self.models:
            self.models.move_to_end(key)
            return self.models[key]
        # export= only when there is one: tests' stand-in loaders predate it
        extra = {"export": choice.export} if choice.export else {}
        model = hf_loading.load_run_model(
            choice.run_dir, base=choice.base, checkpoint=choice.checkpoint, preset=choice.preset, **extra
        )
        self.models[key] = model
        while len(self.models) > MAX_LOADED:
            self.models.popitem(last=False)
        return model
