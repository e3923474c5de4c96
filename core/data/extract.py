"""Pull the bash command out of a model's free-form answer."""

from __future__ import annotations

import re

# Chat-template end markers a model may leave in its text: everything after them is noise.
_SPECIAL = re.compile(r"<\|[A-Za-z0-9_]+\|>|</s>|<eos>|<end_of_turn>|\[/?INST\]")
# ``` fences: the language tag decides whether the block is shell code.
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)
_INLINE_FENCE = re.compile(r"```[ \t]*(?:(?:bash|sh|shell|zsh)[ \t]+)?([^`\n]+?)```")
_SHELL_LANGS = frozenset(
    {"", "bash", "sh", "shell", "zsh", "console", "terminal", "shell-session", "shellsession"}
)
# Lead-in chatter before the command on the same line ("Here is the command: ls").
_LEAD_IN = re.compile(
    r"^\s*(?:(?:sure|okay|ok|certainly)[,.!]?\s*)?"
    r"(?:here(?:'s| is)\b[^:\n`]*|the\s+(?:bash\s+|shell\s+)?command\s*(?:is|would be|you need is)?[^:\n`]*"
    r"|(?:bash\s+|shell\s+)?command|answer|response|solution|bash|shell|output|result|code)\s*:\s*",
    re.IGNORECASE,
)
_PROMPT = re.compile(r"^(?:\$|%|>>>|[\w.-]+@[\w.-]+:[^$#\n]*[$#])\s+")
_CONTINUES = re.compile(r"(?:\\|\||&&|\|\|)\s*\Z")
_HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")
# "You can use `ls -la` to list them.": prose words before an inline code span, prose after it.
_PROSE_SPAN = re.compile(
    r"^[A-Za-z][A-Za-z,' ]*?[A-Za-z,:]\s+`([^`\n]+)`(?:\s*[.,!:]?\s*(?:[A-Za-z][^;|&`]*)?)?$"
)


def _from_fence(text: str) -> str | None:
    """The body of the first shell (or untagged) fenced block, prompts and comment lines removed."""
    for m in _FENCE.finditer(text):
        if m.group(1).lower() not in _SHELL_LANGS:
            continue
        lines = [ln.rstrip() for ln in m.group(2).strip("\n").splitlines()]
        prompted = [ln for ln in lines if _PROMPT.match(ln)]
        if prompted:
            # A console transcript: the commands are the prompted lines, the rest is output.
            lines = [_PROMPT.sub("", ln, count=1) for ln in prompted]
        lines = [
            ln for ln in lines if ln.strip() and not (ln.lstrip().startswith("#") and not ln.startswith("#!"))
        ]
        body = "\n".join(lines).strip()
        if body:
            return body
    return None


def _balanced(text: str) -> bool:
    """True unless a quote is left open (a rough check, enough to keep multi-line strings whole)."""
    single = double = False
    escaped = False
    for c in text:
        if escaped:
            escaped = False
        elif c == "\\" and not single:
            escaped = True
        elif c == "'" and not double:
            single = not single
        elif c == '"' and not single:
            double = not double
    return not (single or double)


def _from_prose(text: str) -> str:
    """The first command-looking line(s) of an answer without fences."""
    # Trailing explanation usually follows a blank line.
    text = re.split(r"\n[ \t]*\n", text.strip(), maxsplit=1)[0]
    lines = text.splitlines()
    # A first line that is only chatter ("Here is the command you need:") goes; so does chatter
    # in front of the command on the same line.
    while lines:
        stripped = _LEAD_IN.sub("", lines[0], count=1).strip()
        if stripped:
            lines[0] = stripped
            break
        if _LEAD_IN.match(lines[0]) or not lines[0].strip():
            lines.pop(0)
        else:
            break
    if len(lines) > 1 and lines[0].rstrip().endswith(":"):
        lines.pop(0)  # "To list them, run the following:" introduces the command on the next line
    if not lines:
        return ""
    span = _PROSE_SPAN.match(lines[0].strip())
    if span and " " in lines[0].strip().split("`", 1)[0].strip():
        return span.group(1).strip()
    first = _PROMPT.sub("", lines[0], count=1).strip()
    first = _strip_backticks(first)
    taken = [first]
    heredoc = _HEREDOC.search(first)
    for ln in lines[1:]:
        so_far = "\n".join(taken)
        if heredoc:
            taken.append(ln)
            if ln.strip() == heredoc.group(1):
                heredoc = None
            continue
        if _CONTINUES.search(so_far) or not _balanced(so_far):
            taken.append(_PROMPT.sub("", ln, count=1) if _PROMPT.match(ln) else ln)
            continue
        break
    return "\n".join(taken).strip()


def _strip_backticks(line: str) -> str:
    """`ls -la` → ls -la; also the span when a line starts with inline code followed by prose."""
    if line.startswith("`"):
        ticks = len(line) - len(line.lstrip("`"))
        end = line.find("`" * ticks, ticks)
        if end > ticks:
            return line[ticks:end].strip()
        return line.strip("`").strip()
    return line


def extract_command(text: str) -> str:
    """The bash command in a generated answer: first shell code block, else the first command line(s)."""
    if not isinstance(text, str):
        return ""
    try:
        special = _SPECIAL.search(text)
        if special:
            text = text[: special.start()]
        if "```" in text:
            inline = _INLINE_FENCE.search(text)
            if inline and inline.start() == text.index("```"):
                return inline.group(1).strip()  # ```ls -la``` on one line
            fenced = _from_fence(text)
            if fenced is not None:
                return fenced
            text = re.sub(r"```[A-Za-z0-9_+-]*", "", text)  # empty or non-shell blocks: drop the fences
        return _from_prose(text)
    except Exception:  # the caller scores whatever comes back: never fail a whole evaluation
        return text.strip()


# First words of English sentences that are not commands. Words that are commands or shell
# keywords (yes, time, which, test, at, do, if, for, …) stay out of the list.
_PROSE_STARTS = frozenset(
    [
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "it's",
        "its",
        "you",
        "you'll",
        "you're",
        "your",
        "i",
        "i'm",
        "i'll",
        "we",
        "we'll",
        "they",
        "he",
        "she",
        "there",
        "here",
        "to",
        "a",
        "an",
        "of",
        "and",
        "but",
        "so",
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "would",
        "should",
        "will",
        "may",
        "might",
        "must",
        "please",
        "sorry",
        "note",
        "unfortunately",
        "however",
        "also",
        "first",
        "then",
        "now",
        "sure",
        "certainly",
        "okay",
        "my",
        "our",
    ]
)


def prose_reason(command: str) -> str | None:
    """Why an extracted command reads as an English sentence ("The root directory is /"), else None.

    Such text can still parse as bash (a command named `The`); the playground says so instead of
    showing it as a checked command.
    """
    words = command.strip().split()
    if len(words) < 3:
        return None
    first = words[0].strip(",.:;!?\"'").lower()
    if first in _PROSE_STARTS:
        return f"reads as a sentence: starts with {words[0]!r}"
    sentence = words[0][:1].isupper() and words[0][1:].islower() and command.rstrip()[-1] in ".!?"
    if sentence and not any(c in command for c in "|&;<>$`=/"):
        return "reads as a sentence"
    return None
