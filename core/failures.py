"""What a failure means, whichever library raised it: out of memory, disk full, or a bug in tuner.

Libraries report a full disk in their own words: Python raises OSError(ENOSPC); the Rust
tokenizers a plain Exception("No space left on device (os error 28)"); safetensors
"IoError(Os { code: 28, kind: StorageFull, … })"; torch.save only "file write failed". The
meaning is read from the whole exception chain, and for torch's wordless write failures from the
free space left where the run writes.
"""

from __future__ import annotations

import errno
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

DISK_FULL_TEXT = re.compile(
    r"no space left on device|os error (28|122)\b|storagefull|disk quota exceeded|"
    r"filesystemquotaexceeded",
    re.I,
)
WORDLESS_WRITE_FAILURE = re.compile(r"file write failed|failed writing file|unexpected pos", re.I)
NEARLY_FULL_BYTES = 64 * 2**20  # a write that failed with this little room left failed for room

OOM_HINT = (
    "lower train.micro_batch_size or train.max_tokens_per_batch, set train.gradient_checkpointing = true, "
    "or use QLoRA (quant.bits = 4)"
)
DISK_HINT = "free disk space or lower train.save_limit; completed checkpoints are intact"


def chain(e: BaseException) -> Iterator[BaseException]:
    """The exception and its causes/contexts, each once."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def is_disk_full(e: BaseException, where: Path | None = None) -> bool:
    """True when `e` (or what caused it) means the disk or the quota is full."""
    for err in chain(e):
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if DISK_FULL_TEXT.search(str(err)):
            return True
    if where is not None and any(WORDLESS_WRITE_FAILURE.search(str(err)) for err in chain(e)):
        try:
            return shutil.disk_usage(where).free < NEARLY_FULL_BYTES
        except OSError:
            return False
    return False


def is_out_of_memory(e: BaseException) -> bool:
    """True for torch's and Python's out-of-memory errors, whatever wraps them."""
    for err in chain(e):
        if type(err).__name__ in ("OutOfMemoryError", "MemoryError") or "out of memory" in str(err).lower():
            return True
    return False


def first_line(e: BaseException) -> str:
    """The error's first line (its type name when it says nothing)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def classify(e: BaseException, where: Path | None = None) -> tuple[str, str, str]:
    """(kind, one-line message, hint): "oom", "disk_full", or "internal" (a bug: the traceback goes to train.log)."""
    text = first_line(e)
    if is_out_of_memory(e):
        return "oom", f"out of memory: {text}", OOM_HINT
    if is_disk_full(e, where):
        return "disk_full", f"disk full while writing: {text}", DISK_HINT
    return "internal", f"{type(e).__name__}: {text}", "this is a bug in tuner: the traceback is in train.log"
