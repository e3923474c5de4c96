"""Start-up stays light, and the core never depends on the TUI."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

HEAVY = ("torch", "transformers", "datasets", "peft", "accelerate")
CORE_DIR = Path(core.__file__).parent


def test_tui_start_imports_no_ml_libraries():
    code = (
        "import sys, json, tuner_tui.app\n"
        "app = tuner_tui.app.TunerApp()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_core_sources_never_import_textual():
    offenders = []
    for path in sorted(CORE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "textual" or n.startswith("textual.") or n.startswith("tuner_tui") for n in names):
                offenders.append(f"{path.relative_to(CORE_DIR.parent)}:{node.lineno}")
    assert offenders == []


def test_importing_every_core_module_leaves_textual_out():
    modules = sorted(m.name for m in pkgutil.walk_packages([str(CORE_DIR)], prefix="core."))
    assert "core.events" in modules and "core.runs" in modules
    code = (
        "import importlib, json, sys\n"
        f"failed = {{}}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as e:\n"
        "        failed[name] = f'{type(e).__name__}: {e}'\n"
        "print(json.dumps({'textual': [m for m in sys.modules if m == 'textual' or m.startswith('textual.')],"
        " 'tuner_tui': [m for m in sys.modules if m.startswith('tuner_tui')], 'failed': failed}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["textual"] == []
    assert result["tuner_tui"] == []
    # A module that cannot be imported here (an optional dependency) proves nothing either way.
    assert len(result["failed"]) < len(modules) // 2, result["failed"]
