"""Text that is not ours (a piped prompt, model output, dataset rows, log lines) made safe for a terminal.

Rich passes ESC sequences through and drops only BEL and CR, which can leave an OSC sequence open
and swallow what follows; a model or a data file can also clear the screen or retitle the window.
Control characters are shown as visible symbols instead, so what was typed stays readable.
"""

from __future__ import annotations

import re

# C0 controls except TAB and LF, DEL, and the C1 range (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode's control pictures: ESC → ␛, BEL → ␇, CR → ␍
    return "␡" if code == 0x7F else f"\\x{code:02x}"


def visible(text: str) -> str:
    """`text` with every control character but tab and newline replaced by a visible symbol."""
    return _CONTROL.sub(_picture, text)
