"""No import circle anywhere in the repo: lazy imports inside functions and TYPE_CHECKING imports count too."""

from __future__ import annotations

import grimp
import pytest


def cycles(package: str) -> list[tuple[str, str]]:
    """Pairs (a, b) where a imports b and b reaches a again."""
    graph = grimp.build_graph(package, cache_dir=None)
    found = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(package) and graph.chain_exists(importer=imported, imported=module):
                found.add(tuple(sorted((module, imported))))
    return sorted(found)


@pytest.mark.parametrize("package", ["core", "tuner_tui"])
def test_no_import_circle(package):
    assert cycles(package) == []


def test_a_circle_is_found(tmp_path, monkeypatch):
    pkg = tmp_path / "circular"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from circular import b\n")
    (pkg / "b.py").write_text("import circular.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cycles("circular") == [("circular.a", "circular.b")]
