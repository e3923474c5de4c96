"""Quote-aware scanning of bash text: where a `$(...)` / `(...)` body or a double-quoted string ends.

Shared by core.data.normalize (duplicate keys) and core.data.danger_lex (the safety lexer), so both
read nested quoting the same way.
"""

from __future__ import annotations

__all__ = ["find_close", "skip_double_quoted"]


def skip_double_quoted(s: str, i: int) -> int:
    """Index of the `"` closing a double-quoted string whose body starts at i, or -1."""
    n = len(s)
    while i < n:
        c = s[i]
        if c == '"':
            return i
        if c == "\\":
            i += 1
        elif c == "$" and s.startswith("$(", i):
            i = find_close(s, i + 2)  # "$(echo "nested")" is one string
            if i < 0:
                return -1
        i += 1
    return -1


def find_close(s: str, i: int) -> int:
    """Index of the `)` closing a `$(`/`<(`/`(` whose body starts at i, or -1 if unbalanced."""
    depth, n = 1, len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 1
        elif c == "'":
            i = s.find("'", i + 1)
            if i < 0:
                return -1
        elif c == '"':
            i = skip_double_quoted(s, i + 1)
            if i < 0:
                return -1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1
