"""The doctor's result types (one Check per line, the DoctorReport of a run) and the wording every check shares."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["pass", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip")


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str = ""
    fix: str = ""  # what to do about a warn/fail, one sentence; empty when nothing to do
    section: str = ""

    def to_dict(self) -> dict[str, str]:
        """The check as a plain dict (the JSON output's "checks" items)."""
        return asdict(self)


@dataclass
class DoctorReport:
    """All checks of one `tuner doctor` invocation."""

    checks: list[Check] = field(default_factory=list)
    mode: Literal["quick", "full"] = "quick"
    presets: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        """How many checks have each status."""
        out: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for c in self.checks:
            out[c.status] += 1
        return out

    @property
    def exit_code(self) -> int:
        """1 when any check failed, else 0."""
        return 1 if any(c.status == "fail" for c in self.checks) else 0

    def summary_line(self) -> str:
        """'N passed, N warnings, N failed'."""
        n = self.counts()
        return f"{n['pass']} passed, {n['warn']} warning{'' if n['warn'] == 1 else 's'}, {n['fail']} failed"

    def sections(self) -> list[str]:
        """Section titles in the order their first check was added."""
        seen: list[str] = []
        for c in self.checks:
            if c.section not in seen:
                seen.append(c.section)
        return seen

    def to_dict(self) -> dict[str, Any]:
        """The report as the `tuner doctor --json` object."""
        return {
            "mode": self.mode,
            "presets": self.presets,
            "elapsed_s": round(self.elapsed_s, 3),
            "summary": self.counts(),
            "exit_code": self.exit_code,
            "checks": [c.to_dict() for c in self.checks],
        }

    def to_json(self) -> str:
        """to_dict() as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def tilde(path: Path | str) -> str:
    """The path with the home folder shown as ~."""
    text = str(path)
    home = str(Path.home())
    return "~" + text[len(home) :] if text == home or text.startswith(home + os.sep) else text


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
