"""llama.cpp's own GGUF converter, taken from the pinned llama-cpp-python sdist on PyPI.

The Hugging Face → GGUF converter (`convert_hf_to_gguf.py`, its `conversion/` package and the
`gguf-py` it is maintained with) is not published as a package of its own; the llama-cpp-python
sdist vendors llama.cpp whole. We download that sdist once (hash-checked), keep it in tuner's cache
(`make test-gguf` builds llama-cpp-python from the same file) and extract only the Python
conversion code and llama.cpp's LICENSE. `python -m core.export.llama_cpp` does it ahead of time
(`make setup`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from core.errors import TunerError
from core.models.embedded import cache_root

VERSION = "0.3.36"
SDIST_NAME = f"llama_cpp_python-{VERSION}.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
# What the converter needs from vendor/llama.cpp (about 2 MB of the 77 MB sdist).
_KEEP_FILES = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "LICENSE")
_KEEP_DIRS = ("conversion/", "gguf-py/")
_OFFLINE_HINT = (
    f"connect to PyPI and run `make setup`, or copy {SDIST_NAME} (sha256 {SDIST_SHA256[:12]}…) "
    f"into {{downloads}}"
)


def downloads_dir() -> Path:
    """Where downloaded archives are kept (inside tuner's cache)."""
    return cache_root() / "downloads"


def converter_dir() -> Path:
    """Folder holding llama.cpp's converter for the pinned version (may not exist yet)."""
    return cache_root() / f"llama.cpp-{VERSION}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sdist_path() -> Path:
    """The hash-checked llama-cpp-python sdist, downloaded with pip on first use."""
    target = downloads_dir() / SDIST_NAME
    if target.is_file() and _sha256(target) == SDIST_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".llama-cpp-dl-", dir=target.parent) as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text(f"llama-cpp-python=={VERSION} --hash=sha256:{SDIST_SHA256}\n")
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet"]
        cmd += ["--no-deps", "--no-binary", ":all:", "--require-hashes", "-r", str(reqs), "-d", tmp]
        got = Path(tmp) / SDIST_NAME
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
            detail = _last_line(proc.stderr) if proc.returncode else ""
        except (OSError, subprocess.SubprocessError) as exc:
            detail = str(exc)
        if detail or not got.is_file():
            raise TunerError(
                f"could not download llama.cpp's GGUF converter (llama-cpp-python=={VERSION}) from PyPI: "
                + (detail or "pip wrote no sdist"),
                kind="offline",
                hint=_OFFLINE_HINT.format(downloads=target.parent),
            )
        # pip checked the hash already; check again so a copied-in file is held to the same pin.
        if _sha256(got) != SDIST_SHA256:
            raise TunerError(f"{got.name} does not match its pinned sha256", kind="offline")
        got.replace(target)
    return target


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _wanted(rel: str) -> bool:
    return rel in _KEEP_FILES or rel.startswith(_KEEP_DIRS)


def ensure_converter() -> Path:
    """llama.cpp's converter folder, downloading and extracting it on first use."""
    target = converter_dir()
    if (target / "convert_hf_to_gguf.py").is_file():
        return target
    sdist = sdist_path()
    prefix = f"llama_cpp_python-{VERSION}/vendor/llama.cpp/"
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        with tarfile.open(sdist, "r:gz") as tar:
            for member in tar.getmembers():
                rel = member.name[len(prefix) :] if member.name.startswith(prefix) else ""
                if not member.isfile() or not _wanted(rel) or ".." in Path(rel).parts:
                    continue
                src = tar.extractfile(member)
                if src is None:
                    continue
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out)
        (tmp / "SOURCE").write_text(f"{SDIST_NAME} sha256 {SDIST_SHA256}\n")
        # Rename last: a crash mid-extraction leaves a .tmp folder, never a converter that looks complete.
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def supported_architectures(llama_dir: Path) -> set[str]:
    """The Hugging Face architecture names llama.cpp's converter registers for text models."""
    import ast

    tree = ast.parse((llama_dir / "conversion" / "__init__.py").read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "TEXT_MODEL_MAP"
            and node.value is not None
        ):
            return set(ast.literal_eval(node.value))
    raise TunerError(f"{llama_dir}/conversion/__init__.py has no TEXT_MODEL_MAP", kind="export")


def main(argv: list[str] | None = None) -> int:
    """Fetch the converter ahead of time; `--sdist` prints the sdist path (for `make test-gguf`)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if "--sdist" in args:
            print(sdist_path())
        else:
            print(ensure_converter())
    except TunerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
