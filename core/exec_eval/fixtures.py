"""Build the fixture file trees that execution-checked commands run on, byte for byte the same every time.

A fixture is a folder with `fixture.toml` and real files under `files/` (format: assets/exec/README.md).
The manifest adds what git cannot hold: fixed mtimes, modes, symlinks, empty directories, inline
dotfiles, generated files and archives (tar, tar.gz, gz, zip) built deterministically at build time.

On disk every file stays u+rw and every directory u+rwx, so an unprivileged `cp -a` can copy the tree;
the manifest's real modes are returned (and written to `modes.sh`) to be applied after the copy.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
import re
import shlex
import shutil
import stat
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from core.errors import DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MANIFEST = "fixture.toml"
TOP_KEYS = ("description", "mtime", "paths")
PATH_KEYS = (
    "mode",
    "mtime",
    "text",
    "symlink",
    "dir",
    "generate",
    "size",
    "seed",
    "line",
    "count",
    "archive",
    "members",
    "root",
    "transient",
)
KIND_KEYS = ("text", "symlink", "dir", "generate", "archive")
GENERATORS = ("random", "zeros", "repeat")
ARCHIVES = ("tar", "tar.gz", "gz", "zip", "sha256sums")
DEFAULT_FILE_MODE = 0o644
DEFAULT_DIR_MODE = 0o755
MAX_GENERATED = 64 << 20  # a fixture is copied for every command: keep it small


@dataclass(frozen=True)
class Entry:
    """One `[paths."..."]` table of a manifest, validated."""

    path: str
    kind: str  # "file" (from files/), "text", "symlink", "dir", "generate", "archive"
    mode: int | None = None
    mtime_ns: int | None = None
    text: str = ""
    target: str = ""
    generator: str = ""
    size: int = 0
    seed: int = 0
    line: str = ""
    count: int = 0
    archive: str = ""
    members: tuple[str, ...] = ()
    root: str = ""
    transient: bool = False


@dataclass(frozen=True)
class Manifest:
    """A parsed `fixture.toml`: the default mtime and the per-path entries in file order."""

    path: Path
    description: str
    mtime_ns: int
    entries: dict[str, Entry] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltFixture:
    """A built fixture: the tree, and the real modes to apply after copying it (deepest paths first)."""

    name: str
    tree: Path
    modes: list[tuple[str, int]]
    modes_sh: Path


def fixtures_root() -> Path:
    """The folder of the fixtures that ship with tuner."""
    return Path(str(resources.files("assets"))) / "exec" / "fixtures"


def fixture_names() -> list[str]:
    """Names of the shipped fixtures, sorted."""
    root = fixtures_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST).is_file())


def fixture_dir(name: str) -> Path:
    """The folder of a shipped fixture."""
    folder = fixtures_root() / name
    if not (folder / MANIFEST).is_file():
        known = ", ".join(fixture_names()) or "none"
        raise DataError(f"unknown fixture {name!r}", hint=f"shipped fixtures: {known}")
    return folder


def _fail(manifest: Path, where: str, problem: str, hint: str) -> DataError:
    """A one-line error naming the manifest, the key or path, and how to fix it."""
    return DataError(f"{manifest}: {where}: {problem}", hint=hint)


def _parse_time(manifest: Path, where: str, raw: Any) -> int:
    """An ISO 8601 time with a zone (a string or a TOML datetime) as nanoseconds since the epoch."""
    hint = 'write a UTC time such as "2024-03-01T12:00:00Z"'
    if isinstance(raw, str):
        text = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
        try:
            raw = datetime.fromisoformat(text)
        except ValueError:
            raise _fail(manifest, where, f"bad time {raw!r}", hint) from None
    if not isinstance(raw, datetime) or raw.tzinfo is None:
        raise _fail(manifest, where, f"bad time {raw!r} (a date and time with a zone is needed)", hint)
    seconds = int(raw.astimezone(timezone.utc).timestamp())
    if seconds < 315532800:  # 1980-01-01: zip cannot store earlier times
        raise _fail(manifest, where, f"time {raw.isoformat()} is before 1980", hint)
    return seconds * 1_000_000_000


def _parse_mode(manifest: Path, where: str, raw: Any) -> int:
    """A mode as an octal string ("0644") or a TOML integer (0o644)."""
    if isinstance(raw, str) and re.fullmatch(r"0?[0-7]{3}", raw):
        return int(raw, 8)
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 0o777:
        return raw
    raise _fail(manifest, where, f"bad mode {raw!r}", 'write an octal string such as "0644" or "0755"')


def _check_rel(manifest: Path, where: str, raw: Any, *, allow_empty: bool = False) -> str:
    """A relative POSIX path inside the tree, normalized (no '..', no absolute path)."""
    hint = 'write a path relative to the tree root, such as "src/app.py"'
    if not isinstance(raw, str) or (not raw and not allow_empty):
        raise _fail(manifest, where, f"bad path {raw!r}", hint)
    if not raw:
        return ""
    norm = posixpath.normpath(raw)
    if raw.startswith("/") or norm == ".." or norm.startswith("../") or "\\" in raw or "\0" in raw:
        raise _fail(manifest, where, f"path {raw!r} leaves the tree", hint)
    return "" if norm == "." else norm


def _int_key(manifest: Path, where: str, table: dict[str, Any], key: str, *, lo: int, hi: int) -> int:
    """A required integer key within [lo, hi]."""
    raw = table.get(key)
    if raw is None:
        raise _fail(manifest, f"{where} {key}", "missing", f"write {key} = <an integer from {lo} to {hi}>")
    if not isinstance(raw, int) or isinstance(raw, bool) or not lo <= raw <= hi:
        raise _fail(
            manifest, f"{where} {key}", f"must be an integer from {lo} to {hi}, got {raw!r}", "fix it"
        )
    return raw


def _parse_entry(manifest: Path, path: str, table: Any) -> Entry:
    """Validate one `[paths."..."]` table."""
    where = f'[paths."{path}"]'
    if not isinstance(table, dict):
        raise _fail(manifest, where, "is not a table", 'write [paths."some/path"] with keys below it')
    for key in table:
        if key not in PATH_KEYS:
            raise _fail(manifest, f"{where} {key}", "unknown key", f"allowed keys: {', '.join(PATH_KEYS)}")
    kinds = [k for k in KIND_KEYS if k in table]
    if len(kinds) > 1:
        raise _fail(manifest, where, f"sets both {kinds[0]} and {kinds[1]}", "keep one of them")
    kind = kinds[0] if kinds else "file"
    mode = _parse_mode(manifest, f"{where} mode", table["mode"]) if "mode" in table else None
    mtime = _parse_time(manifest, f"{where} mtime", table["mtime"]) if "mtime" in table else None
    transient = table.get("transient", False)
    if not isinstance(transient, bool):
        raise _fail(manifest, f"{where} transient", "must be true or false", "write transient = true")
    extra = {"generate": ("size", "seed", "line", "count"), "archive": ("members", "root")}
    for key in ("size", "seed", "line", "count", "members", "root"):
        if key in table and key not in extra.get(kind, ()):
            raise _fail(manifest, f"{where} {key}", f"is not used by a {kind} entry", "remove it")
    fields: dict[str, Any] = {}
    if kind == "text":
        if not isinstance(table["text"], str):
            raise _fail(manifest, f"{where} text", "must be a string", 'write text = """..."""')
        fields["text"] = table["text"]
    elif kind == "symlink":
        target = table["symlink"]
        if not isinstance(target, str) or not target or target.startswith("/"):
            raise _fail(manifest, f"{where} symlink", f"bad target {target!r}", "write a relative target")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if resolved == ".." or resolved.startswith("../"):
            raise _fail(
                manifest, f"{where} symlink", f"target {target!r} escapes the tree", "point inside the tree"
            )
        if mode is not None:
            raise _fail(manifest, f"{where} mode", "a symlink has no mode", "remove mode")
        fields["target"] = target
    elif kind == "dir" and table["dir"] is not True:
        raise _fail(manifest, f"{where} dir", "must be true", "write dir = true")
    elif kind == "generate":
        gen = fields["generator"] = table["generate"]
        if gen not in GENERATORS:
            raise _fail(manifest, f"{where} generate", f"unknown generator {gen!r}", f"use {GENERATORS}")
        if gen == "repeat":
            line = fields["line"] = table.get("line")
            if not isinstance(line, str) or not line:
                raise _fail(manifest, f"{where} line", "repeat needs a line", 'write line = "row {n}"')
            fields["count"] = _int_key(manifest, where, table, "count", lo=1, hi=1_000_000)
        else:
            fields["size"] = _int_key(manifest, where, table, "size", lo=0, hi=MAX_GENERATED)
            if gen == "random":
                fields["seed"] = _int_key(manifest, where, table, "seed", lo=0, hi=2**63)
    elif kind == "archive":
        fmt = fields["archive"] = table["archive"]
        if fmt not in ARCHIVES:
            raise _fail(manifest, f"{where} archive", f"unknown archive format {fmt!r}", f"use {ARCHIVES}")
        members = table.get("members")
        if not isinstance(members, list) or not members:
            raise _fail(manifest, f"{where} members", "needs a list of paths", 'write members = ["dir"]')
        fields["root"] = _check_rel(manifest, f"{where} root", table.get("root", ""), allow_empty=True)
        fields["members"] = tuple(_check_rel(manifest, f"{where} members", m) for m in members)
        if fmt == "gz" and len(fields["members"]) != 1:
            raise _fail(manifest, f"{where} members", "a gz archive holds one file", "list exactly one")
    return Entry(path=path, kind=kind, mode=mode, mtime_ns=mtime, transient=transient, **fields)


def load_manifest(folder: Path) -> Manifest:
    """Read and validate a fixture's `fixture.toml`."""
    path = folder / MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file", hint="a fixture folder needs fixture.toml") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid TOML: {e}", hint="fix the syntax") from None
    for key in data:
        if key not in TOP_KEYS:
            raise _fail(path, key, "unknown top-level key", f"allowed keys: {', '.join(TOP_KEYS)}")
    if "mtime" not in data:
        raise _fail(path, "mtime", "missing", 'add mtime = "2024-03-01T12:00:00Z" at the top')
    mtime = _parse_time(path, "mtime", data["mtime"])
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(path, "description", "must be a string", "quote it")
    paths = data.get("paths", {})
    if not isinstance(paths, dict):
        raise _fail(path, "paths", "must be a table", 'write [paths."some/path"] tables')
    entries: dict[str, Entry] = {}
    for raw, table in paths.items():
        rel = _check_rel(path, f'[paths."{raw}"]', raw)
        if rel in entries:
            raise _fail(path, f'[paths."{raw}"]', f"names {rel!r} twice", "merge the two tables")
        entries[rel] = _parse_entry(path, rel, table)
    return Manifest(path=path, description=description, mtime_ns=mtime, entries=entries)


def _resolve_folder(name_or_path: str | Path) -> tuple[str, Path]:
    """A fixture's name and folder, from a shipped name, its folder or its fixture.toml."""
    if isinstance(name_or_path, str) and "/" not in name_or_path and name_or_path in fixture_names():
        return name_or_path, fixture_dir(name_or_path)
    folder = Path(name_or_path)
    if folder.name == MANIFEST:
        folder = folder.parent
    if not (folder / MANIFEST).is_file():
        known = ", ".join(fixture_names()) or "none"
        raise DataError(f"no fixture {str(name_or_path)!r}", hint=f"shipped fixtures: {known}, or a folder")
    return folder.name, folder


def _depth_first(paths: list[str]) -> list[str]:
    """Paths ordered deepest first (ties by name), so children come before their parents."""
    return sorted(paths, key=lambda p: (-p.count("/"), p))


def _generate(entry: Entry) -> bytes:
    """The bytes of a generated file."""
    if entry.generator == "zeros":
        return bytes(entry.size)
    if entry.generator == "random":
        return hashlib.shake_256(f"tuner-fixture:{entry.seed}".encode()).digest(entry.size)
    lines = (entry.line.replace("{n}", str(i)) for i in range(1, entry.count + 1))
    return "".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines).encode()


def _mkparents(tree: Path, rel: str) -> None:
    """Create the parent folders of a tree path."""
    (tree / rel).parent.mkdir(parents=True, exist_ok=True)


def _copy_files(manifest: Manifest, files: Path, tree: Path) -> list[str]:
    """Copy `files/` into the tree; return the relative paths copied."""
    copied: list[str] = []
    if not files.is_dir():
        return copied
    for top, dirs, names in os.walk(files):
        dirs.sort()
        for name in sorted(dirs) + sorted(names):
            src = Path(top) / name
            rel = src.relative_to(files).as_posix()
            hint = "declare it in fixture.toml (text = / symlink = / dir = ) instead"
            if name.startswith("."):
                raise _fail(manifest.path, f"files/{rel}", "hidden names are not shipped as files", hint)
            if src.is_symlink() or not (src.is_dir() or src.is_file()):
                raise _fail(manifest.path, f"files/{rel}", "is not a plain file or folder", hint)
            entry = manifest.entries.get(rel)
            if entry is not None and entry.kind not in ("file", "dir"):
                raise _fail(
                    manifest.path,
                    f'[paths."{rel}"]',
                    f"is a {entry.kind} but files/{rel} exists",
                    "remove one",
                )
            if src.is_dir():
                (tree / rel).mkdir(exist_ok=True)
            else:
                shutil.copyfile(src, tree / rel)
            copied.append(rel)
    return copied


def _members(manifest: Manifest, tree: Path, entry: Entry) -> list[str]:
    """Tree paths (relative to the tree) an archive holds: each member and, for folders, all inside."""
    where = f'[paths."{entry.path}"] members'
    out: set[str] = set()
    for member in entry.members:
        rel = posixpath.join(entry.root, member) if entry.root else member
        path = tree / rel
        if rel == entry.path:
            raise _fail(manifest.path, where, "an archive cannot hold itself", "remove it from members")
        if not path.is_symlink() and not path.exists():
            raise _fail(manifest.path, where, f"{rel!r} does not exist", "add it to files/ or fixture.toml")
        if entry.archive == "gz" and (path.is_symlink() or not path.is_file()):
            raise _fail(manifest.path, where, f"{rel!r} is not a plain file", "gz compresses one file")
        out.add(rel)
        if path.is_dir() and not path.is_symlink():
            for top, dirs, names in os.walk(path):
                for name in dirs + names:
                    out.add((Path(top) / name).relative_to(tree).as_posix())
    return sorted(out, key=lambda p: tuple(p.split("/")))


def _archive_bytes(manifest: Manifest, tree: Path, entry: Entry, real_mode: dict[str, int]) -> bytes:
    """The bytes of an archive entry: sorted members, manifest mtimes and modes, owner 0, no names."""
    members = _members(manifest, tree, entry)
    if entry.archive == "gz":
        return gzip.compress((tree / members[0]).read_bytes(), compresslevel=9, mtime=0)

    def arcname(rel: str) -> str:
        return posixpath.relpath(rel, entry.root) if entry.root else rel

    if entry.archive == "sha256sums":
        files = [rel for rel in members if (tree / rel).is_file() and not (tree / rel).is_symlink()]
        sums = ((hashlib.sha256((tree / rel).read_bytes()).hexdigest(), arcname(rel)) for rel in files)
        return "".join(f"{digest}  {name}\n" for digest, name in sums).encode()
    if entry.archive == "zip":
        return _zip_bytes(manifest, tree, [(rel, arcname(rel)) for rel in members], real_mode)
    data = _tar_bytes(manifest, tree, [(rel, arcname(rel)) for rel in members], real_mode)
    return gzip.compress(data, compresslevel=9, mtime=0) if entry.archive == "tar.gz" else data


def _zip_bytes(
    manifest: Manifest, tree: Path, members: list[tuple[str, str]], real_mode: dict[str, int]
) -> bytes:
    """A zip of (tree path, name in the archive) pairs, Unix modes kept."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, name in members:
            path = tree / rel
            stamp = time.gmtime(_mtime_of(manifest, rel) // 1_000_000_000)[:6]
            if path.is_symlink():
                info = zipfile.ZipInfo(name, stamp)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                data = os.readlink(path).encode()
            elif path.is_dir():
                info = zipfile.ZipInfo(name + "/", stamp)
                info.external_attr = (stat.S_IFDIR | real_mode[rel]) << 16 | 0x10
                data = b""
            else:
                info = zipfile.ZipInfo(name, stamp)
                info.external_attr = (stat.S_IFREG | real_mode[rel]) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                data = path.read_bytes()
            info.create_system = 3  # unix: the mode in external_attr is honoured
            zf.writestr(info, data, compresslevel=9 if data else None)
    return buf.getvalue()


def _tar_bytes(
    manifest: Manifest, tree: Path, members: list[tuple[str, str]], real_mode: dict[str, int]
) -> bytes:
    """An uncompressed GNU tar of (tree path, name in the archive) pairs: owner 0, no owner names."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for rel, name in members:
            path = tree / rel
            info = tarfile.TarInfo(name)
            info.mtime = _mtime_of(manifest, rel) // 1_000_000_000
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_symlink():
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
                tf.addfile(info)
            elif path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, real_mode[rel]
                tf.addfile(info)
            else:
                data = path.read_bytes()
                info.size, info.mode = len(data), real_mode[rel]
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _mtime_of(manifest: Manifest, rel: str) -> int:
    """The mtime (ns) of a tree path: its own, else the fixture default."""
    entry = manifest.entries.get(rel)
    return entry.mtime_ns if entry is not None and entry.mtime_ns is not None else manifest.mtime_ns


def _all_paths(tree: Path) -> list[str]:
    """Every path in the tree, relative, not following symlinks."""
    out: list[str] = []
    for top, dirs, names in os.walk(tree):
        out.extend((Path(top) / n).relative_to(tree).as_posix() for n in dirs + names)
    return out


def _populate(manifest: Manifest, folder: Path, tree: Path) -> list[tuple[str, int]]:
    """Write the whole tree; return the manifest's explicit modes, deepest first."""
    tree.mkdir()
    copied = set(_copy_files(manifest, folder / "files", tree))
    for rel, entry in manifest.entries.items():
        where = f'[paths."{rel}"]'
        _mkparents(tree, rel)
        if entry.kind == "dir":
            if (tree / rel).exists() and not (tree / rel).is_dir():
                raise _fail(manifest.path, where, "is a file under files/", "remove dir = true or the file")
            (tree / rel).mkdir(exist_ok=True)
        elif entry.kind == "text":
            (tree / rel).write_bytes(entry.text.encode())
        elif entry.kind == "generate":
            (tree / rel).write_bytes(_generate(entry))
        elif entry.kind == "symlink":
            os.symlink(entry.target, tree / rel)
    for rel, entry in manifest.entries.items():
        if entry.kind == "file" and not (tree / rel).is_dir() and rel not in copied:
            raise _fail(
                manifest.path,
                f'[paths."{rel}"]',
                f"no files/{rel} and no text/symlink/dir/generate/archive key",
                f"add files/{rel} or say what to create",
            )
    real_mode: dict[str, int] = {}
    for rel in _all_paths(tree):
        path = tree / rel
        if path.is_symlink():
            continue
        own = manifest.entries.get(rel)
        default = DEFAULT_DIR_MODE if path.is_dir() else DEFAULT_FILE_MODE
        real_mode[rel] = own.mode if own is not None and own.mode is not None else default
    for rel, entry in manifest.entries.items():  # in file order: an archive may hold an earlier one
        if entry.kind == "archive":
            (tree / rel).write_bytes(_archive_bytes(manifest, tree, entry, real_mode))
            real_mode[rel] = entry.mode if entry.mode is not None else DEFAULT_FILE_MODE
    for rel in sorted(rel for rel, e in manifest.entries.items() if e.transient):
        path = tree / rel
        if not path.is_symlink() and not path.exists():
            continue  # inside a transient folder removed just before
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    paths = _all_paths(tree)
    for rel in paths:
        path = tree / rel
        if path.is_symlink():
            continue
        keep = 0o700 if path.is_dir() else 0o600  # an unprivileged cp -a must read and write it
        os.chmod(path, real_mode[rel] | keep)
    os.chmod(tree, DEFAULT_DIR_MODE)
    for rel in _depth_first(paths):
        ns = _mtime_of(manifest, rel)
        os.utime(tree / rel, ns=(ns, ns), follow_symlinks=False)
    os.utime(tree, ns=(manifest.mtime_ns, manifest.mtime_ns))
    final = set(paths)
    explicit = [rel for rel, e in manifest.entries.items() if e.mode is not None and rel in final]
    return [(rel, real_mode[rel]) for rel in _depth_first(explicit)]


def modes_script(modes: list[tuple[str, int]]) -> str:
    """`chmod` lines that apply the real modes inside a copy of the tree (run from its root)."""
    return "".join(f"chmod {mode:04o} -- {shlex.quote(rel)}\n" for rel, mode in modes)


def build_fixture(name_or_path: str | Path, dest: Path) -> BuiltFixture:
    """Build a fixture into `dest/tree/` (+ `dest/modes.sh`); `dest` must be absent or empty."""
    name, folder = _resolve_folder(name_or_path)
    manifest = load_manifest(folder)
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DataError(f"{dest}: exists and is not an empty folder", hint="build into a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".building", dir=dest.parent))
    try:
        modes = _populate(manifest, folder, staging / "tree")
        (staging / "modes.sh").write_text(modes_script(modes), encoding="utf-8")
        os.chmod(staging, DEFAULT_DIR_MODE)
        if dest.exists():
            dest.rmdir()
        os.replace(staging, dest)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        where = str(e.filename or "the build")
        if where.startswith(f"{staging / 'tree'}/"):
            where = where[len(f"{staging / 'tree'}/") :]
        raise DataError(
            f"{manifest.path}: {where}: cannot be written ({e.strerror})",
            hint="check that no path is used both as a file and as a folder, and that the disk has room",
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuiltFixture(name=name, tree=dest / "tree", modes=modes, modes_sh=dest / "modes.sh")
