"""Prompt history for the playground, persisted as JSON lines (~/.config/tuner/history.jsonl)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

MAX_ENTRIES = 500


def history_path() -> Path:
    """TUNER_HISTORY_FILE, else $XDG_CONFIG_HOME/tuner/history.jsonl, else ~/.config/tuner/history.jsonl."""
    env = os.environ.get("TUNER_HISTORY_FILE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "tuner" / "history.jsonl"


class PromptHistory:
    """Shell-like history: `previous()`/`next()` walk it, `add()` appends (and persists)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or history_path()
        self.entries: list[str] = self._load()
        self._pos: int | None = None  # None: not navigating (at the fresh prompt)
        self._draft = ""

    def _load(self) -> list[str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out: list[str] = []
        for line in lines[-MAX_ENTRIES * 2 :]:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            prompt = rec.get("prompt") if isinstance(rec, dict) else None
            if isinstance(prompt, str) and prompt.strip():
                if out and out[-1] == prompt:
                    continue
                out.append(prompt)
        return out[-MAX_ENTRIES:]

    def add(self, prompt: str) -> None:
        """Remember a prompt (consecutive duplicates are kept once) and append it to the file."""
        self._pos = None
        prompt = prompt.strip()
        if not prompt:
            return
        if not self.entries or self.entries[-1] != prompt:
            self.entries.append(prompt)
            del self.entries[:-MAX_ENTRIES]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(
                    json.dumps({"prompt": prompt, "time": round(time.time(), 3)}, ensure_ascii=False) + "\n"
                )
        except OSError:
            pass  # a read-only home must not break the playground

    def previous(self, current: str) -> str | None:
        """The entry before the current position (None at the oldest)."""
        if not self.entries:
            return None
        if self._pos is None:
            self._draft = current
            self._pos = len(self.entries)
        if self._pos == 0:
            return None
        self._pos -= 1
        return self.entries[self._pos]

    def next(self) -> str | None:
        """The entry after the current position; the unsent draft after the newest."""
        if self._pos is None:
            return None
        self._pos += 1
        if self._pos >= len(self.entries):
            self._pos = None
            return self._draft
        return self.entries[self._pos]
