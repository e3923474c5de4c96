"""Score predictions by running them: each row's reference and prediction in the sandbox, compared by the rule.

One `ExecScorer` per evaluation: it builds each fixture once into a private temp folder, runs
commands on fresh copies of it (2 at a time by default), caches outcomes by (fixture, command) —
a reference is run once however many predictions meet it — and removes everything on exit.
A reference that fails on its own fixture excludes its row (counted, never scored as a model error).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import TunerError
from core.exec_eval.equivalence import Verdict, compare, order_matters
from core.sandbox.bwrap import require_sandbox, write_identity
from core.sandbox.run import Limits, Outcome, run_in_sandbox

DEFAULT_FIXTURE = "homedir"  # for rows that name none (a predictions file from another system)


@dataclass
class _Fixture:
    folder: Path | None
    mtimes: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def _mtimes(tree: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, tree)] = int(os.lstat(full).st_mtime)
    return out


def _why_failed(o: Outcome) -> str:
    if o.setup_error:
        return f"fixture setup failed ({o.setup_error})"
    if o.output_flood:
        return "output flood"
    if o.timed_out:
        return "timed out"
    err = next((ln.strip() for ln in o.stderr.splitlines() if ln.strip()), "")
    return f"exit status {o.exit_code}" + (f" ({err[:120]})" if err else "")


class ExecScorer:
    """Runs commands on fixtures in the sandbox; a context manager that cleans up its temp folder."""

    def __init__(
        self, limits: Limits | None = None, workers: int = 2, default_fixture: str = DEFAULT_FIXTURE
    ):
        self.limits = limits or Limits()
        self.workers = max(1, workers)
        self.default_fixture = default_fixture
        self._work: Path | None = None
        self._fixtures: dict[str, _Fixture] = {}
        self._outcomes: dict[tuple[str, str], Outcome] = {}
        self._lock = threading.Lock()
        self._fixture_lock = threading.Lock()

    def __enter__(self) -> ExecScorer:
        require_sandbox()
        self._work = Path(tempfile.mkdtemp(prefix="tuner-exec-"))
        self.identity = write_identity(self._work / "identity")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def fixture(self, name: str) -> _Fixture:
        """The built fixture `name` (built on first use; a build error is kept, said once)."""
        from core.exec_eval.fixtures import build_fixture

        with self._fixture_lock:
            if name not in self._fixtures:
                assert self._work is not None, "use ExecScorer as a context manager"
                dest = self._work / "fixtures" / name.replace("/", "_")
                try:
                    built = build_fixture(name, dest)
                    self._fixtures[name] = _Fixture(dest, _mtimes(built.tree))
                except TunerError as e:
                    self._fixtures[name] = _Fixture(
                        None, error=f"fixture {name!r} failed to build: {e.message}"
                    )
            return self._fixtures[name]

    def run(self, command: str, fixture: str) -> Outcome:
        """The outcome of `command` on a fresh copy of `fixture` (cached)."""
        key = (fixture, command)
        with self._lock:
            hit = self._outcomes.get(key)
        if hit is not None:
            return hit
        fx = self.fixture(fixture)
        if fx.folder is None:
            raise TunerError(fx.error or f"fixture {fixture!r} is unavailable", kind="data")
        outcome = run_in_sandbox(command, fx.folder, self.identity, self.limits)
        with self._lock:
            self._outcomes[key] = outcome
        return outcome

    def judge(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The `exec` verdict of one prediction row (reference, command, optional output/alternatives/fixture)."""
        fixture = str(row.get("fixture") or self.default_fixture)
        reference = str(row.get("reference") or "")
        command = str(row.get("command") or "")
        verdict: dict[str, Any] = {"fixture": fixture}
        fx = self.fixture(fixture)
        if fx.folder is None:
            return {**verdict, "right": None, "excluded": fx.error}
        ref = self.run(reference, fixture)
        if not ref.ok or ref.setup_error:
            return {
                **verdict,
                "right": None,
                "excluded": f"reference fails on its fixture: {_why_failed(ref)}",
            }
        targets = [("reference", reference, ref)]
        for i, alt in enumerate(row.get("alternatives") or [], 1):
            alt_out = self.run(str(alt), fixture)
            if alt_out.ok:
                targets.append((f"alternative {i}", str(alt), alt_out))
        if not command.strip():
            return {**verdict, "right": False, "reason": "no command", "stdout": "–", "tree": "–"}
        pred = self.run(command, fixture)
        best: tuple[str, Verdict] | None = None
        for label, ref_cmd, target in targets:
            v = compare(pred, target, ordered=order_matters(ref_cmd), fixture_mtimes=fx.mtimes)
            if v.right:
                best = (label, v)
                break
            best = best or (label, v)
        assert best is not None
        label, v = best
        verdict.update(
            right=v.right,
            reason=v.reason,
            stdout=v.stdout,
            tree=v.tree,
            exit=pred.exit_code,
            seconds=round(pred.seconds, 3),
            output=pred.stdout[:400],
        )
        if v.right:
            verdict["matched"] = label
        raw = row.get("output")
        if isinstance(raw, str) and raw.strip() and raw.strip() != command.strip():
            # The answer run as the model wrote it, before extraction: what the extractor is worth.
            raw_out = self.run(raw.strip(), fixture)
            verdict["raw_right"] = any(
                compare(raw_out, t, ordered=order_matters(c), fixture_mtimes=fx.mtimes).right
                for _, c, t in targets
            )
        else:
            verdict["raw_right"] = v.right
        return verdict

    def judge_all(
        self, rows: Sequence[Mapping[str, Any]], on_progress: Callable[[int, int], None] | None = None
    ) -> list[dict[str, Any]]:
        """`judge` for every row, in their order, `workers` sandboxes at a time."""
        total, done = len(rows), 0
        results: list[dict[str, Any]] = [{} for _ in rows]
        if on_progress:
            on_progress(0, total)
        with ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(self.judge, row): i for i, row in enumerate(rows)}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                done += 1
                if on_progress:
                    on_progress(done, total)
        return results


def summarize(
    verdicts: Iterable[Mapping[str, Any]], categories: Iterable[str | None] | None = None
) -> dict[str, Any]:
    """Execution accuracy over scored rows, per category, with the excluded rows counted and explained."""
    verdicts = list(verdicts)
    cats = list(categories) if categories is not None else [None] * len(verdicts)
    scored = [(v, c) for v, c in zip(verdicts, cats, strict=True) if v.get("right") is not None]
    right = sum(bool(v["right"]) for v, _ in scored)
    raw_right = sum(bool(v.get("raw_right")) for v, _ in scored)
    per: dict[str, dict[str, Any]] = {}
    for v, c in scored:
        slot = per.setdefault(c or "–", {"rows": 0, "right": 0})
        slot["rows"] += 1
        slot["right"] += bool(v["right"])
    for slot in per.values():
        slot["accuracy"] = slot["right"] / slot["rows"]
    excluded = [v.get("excluded") for v in verdicts if v.get("right") is None]
    n = len(scored)
    return {
        "exec_accuracy": right / n if n else None,
        "exec_accuracy_raw": raw_right / n if n else None,
        "exec_rows": n,
        "exec_right": right,
        "exec_excluded": len(excluded),
        "exec_excluded_reasons": sorted({str(e) for e in excluded})[:20],
        "reference_pass_rate": n / len(verdicts) if verdicts else None,
        "exec_by_category": dict(sorted(per.items())),
    }
