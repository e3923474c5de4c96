"""`tuner generate / chat / eval`: ask a trained run (or its base model) for bash commands.

Nothing generated is ever executed: answers are shown with the extracted command, its bash
syntax check and a red DANGEROUS flag when the command is destructive.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from rich.markup import escape

from core.cli_common import add_runs_dir, console, quiet_libraries
from core.errors import TunerError
from core.terminal_text import visible

QUIT_WORDS = ("/quit", "/exit", "/q")
DEFAULT_MAX_NEW_TOKENS = 128


def _consoles():
    return console(), console(stderr=True)


def _load(args: argparse.Namespace):
    from core.run_model import load_for_inference

    quiet_libraries()
    return load_for_inference(
        args.run,
        base=args.base,
        checkpoint=args.checkpoint,
        runs_root=Path(args.runs_dir) if args.runs_dir else None,
        device=args.device,
        quant=not args.no_quant,
    )


def _print_loaded(err: Any, loaded: Any) -> None:
    """Which weights answer, where, and how the base was loaded (after the XLA → CPU note, if any)."""
    if loaded.device_note:
        err.print(f"[yellow]{escape(loaded.device_note)}[/]")
    parts = [
        loaded.label,
        loaded.device,
        loaded.base_note,
        f"{loaded.style} prompt",
        f"loaded in {loaded.load_seconds:.1f} s",
    ]
    err.print(f"[dim]{escape(' · '.join(p for p in parts if p))}[/]")


def print_verdict(con: Any, answer: Any) -> None:
    """The extracted command, then a yellow syntax note and a red DANGEROUS flag where they apply."""
    from core.data.syntax import bash_syntax_error

    if not answer.command:
        con.print("[bold]command:[/] [dim](none found in the answer)[/]")
        return
    con.print(f"[bold]command:[/] {escape(visible(answer.command))}")
    err = bash_syntax_error(answer.command)
    if err:
        con.print(f"[yellow]not valid bash: {escape(visible(err))}[/]")
    if answer.dangerous:
        con.print(f"[bold red]DANGEROUS:[/] [red]{escape(visible(answer.dangerous))}[/]")


def cmd_generate(args: argparse.Namespace) -> int:
    """tuner generate RUN "prompt": one greedy answer, its command and risk flag."""
    from core.generate import generate_batch

    con, err = _consoles()
    if not args.prompt.strip():
        raise TunerError(
            "the prompt is empty",
            kind="config",
            hint='say what the command should do: tuner generate RUN "…"',
        )
    loaded = _load(args)
    _print_loaded(err, loaded)
    answer = generate_batch(
        loaded.model,
        loaded.tokenizer,
        [args.prompt],
        style=loaded.style,
        system_prompt=loaded.system_prompt,
        max_new_tokens=args.max_new_tokens,
    )[0]
    con.print(visible(answer.output), markup=False)
    print_verdict(con, answer)
    return 0


def _read_prompt(con: Any, tty: bool) -> str | None:
    """The next request: rich prompt on a terminal, one line of stdin otherwise; None at the end."""
    if tty:
        try:
            import readline  # noqa: F401 - line editing and history for input()
        except ImportError:
            pass
        try:
            return con.input("[bold cyan]> [/]")
        except (EOFError, KeyboardInterrupt):
            con.print()
            return None
    line = sys.stdin.readline()
    return None if line == "" else line.rstrip("\r\n")


def cmd_chat(args: argparse.Namespace) -> int:
    """tuner chat RUN: prompts in a loop, answers streamed token by token."""
    from core.generate import answer_from_text, stream_reply

    con, err = _consoles()
    loaded = _load(args)
    tty = sys.stdin.isatty()
    _print_loaded(err, loaded)
    if tty:
        con.print(
            "[dim]Type a request in plain words. /quit or Ctrl-D exits; Ctrl-C stops an answer. "
            "Nothing is executed.[/]"
        )
    stop = threading.Event()
    while True:
        line = _read_prompt(con, tty)
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT_WORDS:
            break
        if not tty:
            con.print(f"[bold cyan]>[/] {escape(visible(text))}")
        stop.clear()
        pieces: list[str] = []
        stopped = False
        try:
            for piece in stream_reply(loaded, text, max_new_tokens=args.max_new_tokens, stop=stop):
                pieces.append(piece)
                # straight to the terminal: rich's buffer could repeat it after Ctrl-C
                con.file.write(visible(piece))
                con.file.flush()
        except KeyboardInterrupt:
            stop.set()  # the background generation ends at its next token
            stopped = True
        con.print()
        if stopped:
            con.print("[yellow](answer stopped)[/]")
        print_verdict(con, answer_from_text(text, "".join(pieces).strip()))
    return 0


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


_ROWS = (
    ("exact match", "exact_match", "exact"),
    ("normalized match", "normalized_match", "normalized_match"),
    ("bash syntax valid", "syntax_valid", "syntax_ok"),
    ("dangerous commands", "dangerous_rate", "dangerous"),
)


def _counterpart(summary: dict[str, Any], run_dir: Path, out: Path) -> dict[str, Any] | None:
    """The summary of the other side of a before/after pair (base ↔ adapter) on the same rows, if any."""
    import json

    from core.evaluate import default_out, summary_path

    mode = summary["mode"]
    other_mode = "adapter" if mode == "base" else "base"
    guesses = {summary_path(default_out(run_dir, Path(summary["data"]).stem, other_mode))}
    if out.name.endswith(f"-{mode}.jsonl"):  # the same naming next to a custom --out
        guesses.add(summary_path(out.with_name(out.name[: -len(f"-{mode}.jsonl")] + f"-{other_mode}.jsonl")))
    for path in sorted(guesses):
        if path == summary_path(out) or not path.is_file():
            continue
        try:
            other = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            other.get("data") == summary["data"]
            and other.get("rows") == summary["rows"]
            and other.get("mode") != mode
        ):
            return other
    return None


def render_summary(con: Any, summary: dict[str, Any], other: dict[str, Any] | None = None) -> None:
    """Metric table; with `other` (the base model's or the adapter's run on the same rows) side by side."""
    from rich.table import Table

    cols = (
        [summary] if other is None else ([other, summary] if summary["mode"] != "base" else [summary, other])
    )
    if other is None:
        table = Table("metric", escape(summary["model"]), box=None, pad_edge=False)
    else:  # short headers; the full names above the table
        for s in cols:
            con.print(
                f"[bold]{escape(s['mode'])}[/] = {escape(s['model'].removeprefix('base: '))}  [dim]({escape(s['created'])})[/]"
            )
        table = Table(
            "metric", *[escape(s["mode"]) for s in cols], "Δ after − before", box=None, pad_edge=False
        )
    for title, key, count in _ROWS:
        cells = [f"{_pct(s[key])} ({s['counts'][count]}/{s['rows']})" for s in cols]
        if other is not None:
            before, after = cols[0][key], cols[1][key]
            delta = "–" if before is None or after is None else f"{100 * (after - before):+.1f} pts"
            cells.append(delta)
        style = "red" if key == "dangerous_rate" and summary["counts"]["dangerous"] else None
        table.add_row(title, *cells, style=style)
    if any(s.get("exec_accuracy") is not None or s.get("exec_rows") == 0 for s in cols if "exec_rows" in s):
        _exec_rows(table, cols, other is not None)
    table.add_row("rows", *[str(s["rows"]) for s in cols], *([""] if other is not None else []))
    table.add_row("seconds", *[f"{s['seconds']:.1f}" for s in cols], *([""] if other is not None else []))
    con.print(table)


def _exec_rows(table: Any, cols: list[dict[str, Any]], paired: bool) -> None:
    """Execution accuracy rows: the extracted command, the answer as written, rows excluded."""
    for title, key, count in (
        ("exec accuracy", "exec_accuracy", "exec_right"),
        ("  answer as written", "exec_accuracy_raw", None),
    ):
        cells = []
        for s in cols:
            v = s.get(key)
            n = round((v or 0) * s.get("exec_rows", 0)) if count is None else s.get(count, 0)
            cells.append("–" if v is None else f"{_pct(v)} ({n}/{s.get('exec_rows', 0)})")
        if paired:
            a, b = cols[0].get(key), cols[1].get(key)
            cells.append("–" if a is None or b is None else f"{100 * (b - a):+.1f} pts")
        table.add_row(title, *cells, style="bold" if key == "exec_accuracy" else None)
    table.add_row(
        "  reference fails (excluded)",
        *[str(s.get("exec_excluded", "–")) for s in cols],
        *([""] if paired else []),
    )


def render_exec_categories(con: Any, summary: dict[str, Any], other: dict[str, Any] | None = None) -> None:
    """Execution accuracy per category (and the other side's, when there is one)."""
    from rich.table import Table

    per = summary.get("exec_by_category") or {}
    if not per:
        return
    theirs = (other or {}).get("exec_by_category") or {}
    table = Table(
        "category",
        "rows",
        escape(summary["mode"]),
        *([escape(other["mode"])] if other else []),
        box=None,
        pad_edge=False,
    )
    for cat, slot in per.items():
        cells = [str(slot["rows"]), f"{_pct(slot['accuracy'])}"]
        if other:
            o = theirs.get(cat)
            cells.append(_pct(o["accuracy"]) if o else "–")
        table.add_row(escape(cat), *cells)
    con.print(table)


def cmd_score(args: argparse.Namespace) -> int:
    """tuner eval --score PREDS.jsonl: score a predictions file from any system."""
    from core.score_file import score_file

    con, err = _consoles()
    if args.run:
        err.print("[red]give a run or --score PREDS.jsonl, not both[/]")
        return 2
    progress, task = _progress(err, "running in the sandbox") if args.exec_check else (None, None)

    def on_progress(done: int, total: int) -> None:
        if progress is not None and task is not None:
            progress.update(task, completed=done, total=total)

    try:
        summary, _rows, target, spath, notes = score_file(
            args.score,
            exec_check=args.exec_check,
            out=args.out,
            workers=args.workers,
            fixture=args.fixture,
            on_progress=on_progress,
        )
    finally:
        if progress is not None:
            progress.stop()
    for note in notes[:10]:
        err.print(f"[yellow]note:[/] {escape(note)}")
    if len(notes) > 10:
        err.print(f"[yellow]note:[/] … {len(notes) - 10} more unusable lines")
    render_summary(con, summary)
    render_exec_categories(con, summary)
    con.print(f"scored rows: {escape(str(target))}")
    con.print(f"summary:     {escape(str(spath))}")
    return 0


def _progress(err: Any, what: str) -> tuple[Any, Any]:
    """A transient progress bar on a terminal; (None, None) elsewhere."""
    if not err.is_terminal:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    progress.start()
    return progress, progress.add_task(what, total=None)


def cmd_eval(args: argparse.Namespace) -> int:
    """tuner eval RUN: greedy predictions on the test split (or --data), scored, written to JSONL."""
    from core.evaluate import evaluate_run

    if args.score:
        return cmd_score(args)
    if not args.run:
        _consoles()[1].print("[red]tuner eval needs a RUN (or --score PREDS.jsonl)[/]")
        return 2
    quiet_libraries()
    con, err = _consoles()
    progress = None
    task = None

    def on_loaded(loaded: Any, data: Any) -> None:
        nonlocal progress, task
        rows = min(len(data.examples), args.limit) if args.limit else len(data.examples)
        _print_loaded(err, loaded)
        for note in data.notes:
            err.print(f"[yellow]note:[/] {escape(note)}")
        if data.skipped:
            err.print(f"[yellow]note:[/] {data.skipped} rows of {escape(str(data.path))} could not be used")
        err.print(f"evaluating on {rows} rows of {escape(str(data.path))}")
        progress, task = _progress(err, "generating")

    def on_progress(done: int, total: int) -> None:
        if progress is not None and task is not None:
            progress.update(task, completed=done, total=total)

    def on_exec_progress(done: int, total: int) -> None:
        if progress is not None and task is not None:
            progress.update(task, description="running in the sandbox", completed=done, total=total)

    from core.run_model import select_inference_device

    select_inference_device(args.device)  # a bad --device fails before the data is read
    try:
        result = evaluate_run(
            args.run,
            data=args.data,
            out=args.out,
            base=args.base,
            checkpoint=args.checkpoint,
            limit=args.limit,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            runs_root=Path(args.runs_dir) if args.runs_dir else None,
            on_progress=on_progress,
            on_loaded=on_loaded,
            device=args.device,
            quant=not args.no_quant,
            exec_check=args.exec_check,
            exec_workers=args.workers,
            on_exec_progress=on_exec_progress,
            few_shot=args.few_shot,
        )
    finally:
        if progress is not None:
            progress.stop()
    summary = result.summary
    other = _counterpart(summary, Path(summary["run_dir"]), result.out)
    render_summary(con, summary, other)
    render_exec_categories(con, summary, other if other and other.get("exec_by_category") else None)
    con.print(f"predictions: {escape(str(result.out))}")
    con.print(f"summary:     {escape(str(result.summary_path))}")
    return 0


def add_inference_commands(sub: Any) -> None:
    """Register `generate`, `chat` and `eval` on the `tuner` subparsers."""

    def common(sp: argparse.ArgumentParser, run_optional: bool = False) -> None:
        sp.add_argument(
            "run",
            metavar="RUN",
            nargs="?" if run_optional else None,
            help="a run directory, run name, unique name prefix, or 'latest'",
        )
        sp.add_argument(
            "--base", action="store_true", help="the base model without the run's adapter (before)"
        )
        sp.add_argument(
            "--checkpoint",
            metavar="CK",
            help="a complete checkpoint instead of adapter/: latest, best, checkpoint-N or N",
        )
        add_runs_dir(sp)
        sp.add_argument(
            "--device",
            type=device,
            default="auto",
            metavar="DEV",
            help="auto (default; never XLA: it recompiles per token), cpu, cuda, cuda:N, mps or xla",
        )
        sp.add_argument(
            "--no-quant",
            action="store_true",
            help="load a 4/8-bit run's base unquantized, in model.dtype (fp32 on the CPU); default: as it was trained",
        )

    def device(text: str) -> str:
        from core.run_model import parse_device

        try:
            return parse_device(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    def positive(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
        return value

    ge = sub.add_parser("generate", help="one answer from a run's model: raw text, command, danger flag")
    common(ge)
    ge.add_argument("prompt", help="the request in plain words")
    ge.add_argument("--max-new-tokens", type=positive, default=DEFAULT_MAX_NEW_TOKENS, metavar="N")
    ge.set_defaults(func=cmd_generate)

    ch = sub.add_parser("chat", help="ask a run's model interactively; answers stream as they are generated")
    common(ch)
    ch.add_argument("--max-new-tokens", type=positive, default=DEFAULT_MAX_NEW_TOKENS, metavar="N")
    ch.set_defaults(func=cmd_chat)

    ev = sub.add_parser(
        "eval",
        help="score a run (or --base) on its test split or a data file; --exec runs the answers in a sandbox",
    )
    common(ev, run_optional=True)
    ev.add_argument(
        "--exec",
        dest="exec_check",
        action="store_true",
        help="execution-checked: run each answer and its reference in a bubblewrap sandbox on a fixture "
        "(default data: the shipped execution-checked set)",
    )
    ev.add_argument(
        "--score",
        metavar="PREDS.jsonl",
        help="score a predictions file from any system (instruction, reference, prediction; "
        "optional fixture, alternatives, category) instead of a run",
    )
    ev.add_argument(
        "--few-shot",
        type=int,
        metavar="K",
        help="K worked examples from the run's train split before each prompt (default: the preset's eval.few_shot)",
    )
    ev.add_argument("--fixture", metavar="NAME", help="fixture for rows that name none (default: homedir)")
    ev.add_argument(
        "--workers", type=positive, default=2, metavar="N", help="sandboxes at a time (default 2)"
    )
    ev.add_argument(
        "--data",
        metavar="FILE",
        help="JSONL/CSV with instruction and command fields (default: the run's test split)",
    )
    ev.add_argument(
        "--out",
        metavar="PREDS.jsonl",
        help="predictions file (default <run>/eval/<data>-<adapter|base>.jsonl)",
    )
    ev.add_argument("--limit", type=positive, metavar="N", help="only the first N rows")
    ev.add_argument("--batch-size", type=positive, default=16, metavar="B")
    ev.add_argument(
        "--max-new-tokens", type=positive, metavar="N", help="default: the preset's eval.max_new_tokens"
    )
    ev.set_defaults(func=cmd_eval)
