"""`tuner export RUN`: merged transformers model, GGUF (+ Ollama Modelfile) or the adapter, with a manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape

from core.cli_common import add_runs_dir, console, quiet_libraries


def cmd_export(args: argparse.Namespace) -> int:
    """tuner export RUN [--checkpoint CK] [--format F] [--quant Q] [--out DIR] [--force] [--no-verify] [--ollama]"""
    from core.export.pipeline import ExportRequest, export_run
    from core.units import fmt_bytes

    quiet_libraries()
    con, err = console(), console(stderr=True)
    result = export_run(
        ExportRequest(
            run=args.run,
            fmt=args.format,
            quant=args.quant,
            checkpoint=args.checkpoint,
            out=Path(args.out) if args.out else None,
            force=args.force,
            verify=not args.no_verify,
            ollama=args.ollama,
            runs_root=Path(args.runs_dir) if args.runs_dir else None,
        ),
        say=lambda line: err.print(f"[dim]{escape(line)}[/]"),
    )
    m = result.manifest
    for note in result.notes:
        con.print(escape(note))
    ver = m.get("verification") or {}
    ver = ver.get("merged", ver)  # a GGUF export records the check of the model it was converted from
    if ver:
        color = "green" if ver.get("ok") else "red"
        con.print(f"[{color}]verified:[/] {escape(str(ver.get('summary')))}")
    else:
        con.print("[yellow]not verified (--no-verify)[/]")
    if m.get("stop_tokens"):
        con.print(f"stops on: {escape(', '.join(m['stop_tokens']))}")
    con.print(
        f"[bold]exported[/] {m['format']}{'-' + m['quant'] if m.get('quant') else ''} "
        f"({fmt_bytes(m['size_bytes'])}) in {result.seconds:.1f} s → {escape(str(result.path))}"
    )
    return 0


def add_export_command(sub: Any) -> None:
    """Register `tuner export` on the `tuner` subparsers."""
    ex = sub.add_parser("export", help="merged model, GGUF or adapter of a run, with a manifest and a proof")
    ex.add_argument("run", metavar="RUN", help="a run directory, run name, unique name prefix, or 'latest'")
    ex.add_argument(
        "--checkpoint",
        metavar="CK",
        help="a complete checkpoint instead of adapter/: latest, best, checkpoint-N or N",
    )
    ex.add_argument(
        "--format",
        choices=("merged", "gguf", "adapter"),
        default="merged",
        help="merged: standalone transformers model (default); gguf: for llama.cpp/Ollama; adapter: PEFT LoRA folder",
    )
    ex.add_argument(
        "--quant",
        metavar="Q",
        help="merged: f32, bf16 or f16 (default: the run's dtype); gguf: f16 (default), bf16, q8_0, q4_k_m …",
    )
    ex.add_argument("--out", metavar="DIR", help="default: <run>/exports/<format>[-<quant>][-checkpoint-N]")
    ex.add_argument("--force", action="store_true", help="replace an earlier export in the same folder")
    ex.add_argument(
        "--no-verify", action="store_true", help="skip loading the export back and comparing it with the run"
    )
    ex.add_argument(
        "--ollama", action="store_true", help="with --format gguf: also write an Ollama Modelfile"
    )
    add_runs_dir(ex)
    ex.set_defaults(func=cmd_export)
