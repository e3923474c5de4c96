"""Start-up stays light, the layering holds (import-linter contracts), and nothing imports in a circle."""

from __future__ import annotations

import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import core

HEAVY = ("torch", "transformers", "datasets", "peft", "accelerate")
ROOT = Path(__file__).resolve().parents[2]
CORE_DIR = Path(core.__file__).parent
# Optional extras (pyproject's [quant]/[gpu] and XLA): a core module may fail to import without them.
OPTIONAL = {"bitsandbytes", "pynvml", "torch_xla"}


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


def test_import_contracts_hold():
    """.importlinter: core imports no tuner_tui/textual, panes no app, widgets no panes, panes not each other."""
    lint = Path(sys.executable).with_name("lint-imports")
    cmd = [str(lint)] if lint.exists() else [shutil.which("lint-imports") or "lint-imports"]
    out = subprocess.run(
        [*cmd, str(ROOT / ".importlinter"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout and "kept" in out.stdout


def test_no_import_cycle_in_the_tui():
    """Every import inside tuner_tui (function-level ones included) goes one way: no module reaches itself."""
    import grimp

    graph = grimp.build_graph("tuner_tui", cache_dir=None)
    modules = sorted(graph.modules)
    cycles = []
    for m in modules:
        for other in graph.find_modules_directly_imported_by(m):
            if other != m and graph.chain_exists(importer=other, imported=m):
                cycles.append(
                    " → ".join(graph.find_shortest_chain(importer=other, imported=m)) + f" → {other}"
                )
    assert cycles == []
    assert "tuner_tui.messages" in modules and "tuner_tui.panes.data.pane" in modules


def test_importing_every_core_module_leaves_textual_out():
    modules = sorted(m.name for m in pkgutil.walk_packages([str(CORE_DIR)], prefix="core."))
    assert "core.events" in modules and "core.run_status" in modules
    code = (
        "import importlib, json, sys\n"
        "failed = {}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as e:\n"
        "        failed[name] = [type(e).__name__, getattr(e, 'name', None), str(e)]\n"
        "print(json.dumps({'textual': [m for m in sys.modules if m == 'textual' or m.startswith('textual.')],"
        " 'tuner_tui': [m for m in sys.modules if m.startswith('tuner_tui')], 'failed': failed}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["textual"] == []
    assert result["tuner_tui"] == []
    # Only a missing optional extra may keep a module from importing; anything else is a bug.
    broken = {
        name: why
        for name, why in result["failed"].items()
        if not (why[0] == "ModuleNotFoundError" and (why[1] or "").split(".")[0] in OPTIONAL)
    }
    assert broken == {}
