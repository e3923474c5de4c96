"""The equivalence rule on hand-made outcomes: output, order, whitespace, trees, exit status, limits."""

from __future__ import annotations

from core.exec_eval.equivalence import compare, normalize_lines, order_matters, same_output, tree_difference
from core.sandbox.run import Entry, Outcome


def entry(
    kind: str = "f", mode: int = 0o644, sha: str | None = "aa", mtime: float = 1000.0, target=None
) -> Entry:
    return Entry(kind, mode, mtime, 3, target, sha if kind == "f" else None)


def outcome(stdout: str = "", code: int | None = 0, tree=None, **kw) -> Outcome:
    return Outcome(code, stdout, "", {"a.txt": entry()} if tree is None else tree, 0.01, **kw)


def test_order_matters_only_for_ordering_stages() -> None:
    assert order_matters("du -a | sort -rn | head -3")
    assert order_matters("ls -lt logs")
    assert order_matters("ls -S")
    assert order_matters("cat a | tac")
    assert not order_matters("find . -name '*.py'")
    assert not order_matters("ls -la")
    assert not order_matters("grep -r sorted src")  # the word inside an argument is not a stage


def test_whitespace_is_normalized() -> None:
    assert normalize_lines("a   b\t c  \n\n\n") == ["a b c"]
    assert same_output("  3 total\n", "3 total", ordered=True)


def test_line_order_counts_only_when_the_reference_orders() -> None:
    assert same_output("b\na\n", "a\nb\n", ordered=False)
    assert not same_output("b\na\n", "a\nb\n", ordered=True)
    assert not same_output("a\na\n", "a\n", ordered=False)  # a multiset: duplicates count


def test_trees_compare_types_modes_contents_and_links() -> None:
    ref = {"a.txt": entry(), "d": entry("d", 0o755), "l": entry("l", 0o777, target="a.txt")}
    assert tree_difference(dict(ref), ref, {}) is None
    assert tree_difference({**ref, "a.txt": entry(mode=0o600)}, ref, {}) == "a.txt: mode 600 instead of 644"
    assert tree_difference({**ref, "a.txt": entry(sha="bb")}, ref, {}) == "a.txt: different contents"
    assert tree_difference({**ref, "l": entry("l", target="d")}, ref, {}) == "l: points to d"
    assert tree_difference({k: v for k, v in ref.items() if k != "d"}, ref, {}) == "d: missing"
    assert tree_difference({**ref, "x": entry()}, ref, {}) == "x: not expected"


def test_touching_a_fixture_file_counts_but_a_folder_mtime_does_not() -> None:
    fixed = {"a.txt": 1000, "d": 1000}
    ref = {"a.txt": entry(mtime=5000.0), "d": entry("d", 0o755, mtime=1000.0)}
    untouched = {"a.txt": entry(mtime=1000.0), "d": entry("d", 0o755, mtime=7000.0)}
    assert tree_difference(untouched, ref, fixed) == "a.txt: not touched"
    assert tree_difference({**untouched, "a.txt": entry(mtime=9000.0)}, ref, fixed) is None


def test_compare_needs_exit_zero_same_output_same_tree() -> None:
    ref = outcome("x\n")
    assert compare(outcome("x"), ref, ordered=True, fixture_mtimes={}).right
    assert compare(outcome("x", code=1), ref, ordered=True, fixture_mtimes={}).reason == "exit status 1"
    assert compare(outcome("y"), ref, ordered=True, fixture_mtimes={}).reason == "different output"
    changed = outcome("x", tree={})
    assert compare(changed, ref, ordered=True, fixture_mtimes={}).reason.startswith("different files")


def test_limits_make_a_prediction_wrong() -> None:
    ref = outcome("x")
    assert compare(outcome("x", timed_out=True), ref, ordered=True, fixture_mtimes={}).reason == "timed out"
    flood = outcome("x" * 10, code=None, tree=None, output_flood=True)
    assert not compare(flood, ref, ordered=True, fixture_mtimes={}).right
    assert not compare(outcome("x", code=None, tree=None), ref, ordered=True, fixture_mtimes={}).right
