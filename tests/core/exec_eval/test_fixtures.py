"""The fixture builder: shipped fixtures build byte-identically, modes/mtimes/archives as the manifest says,
bad manifests fail with one line naming the file and key, and a failed build leaves nothing behind."""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import os
import stat
import sys
import tarfile
import zipfile
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pytest

from core.errors import DataError, TunerError
from core.exec_eval.fixtures import (
    BuiltFixture,
    build_fixture,
    fixture_dir,
    fixture_names,
    fixtures_root,
    modes_script,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[3]


def ts(text: str) -> int:
    """Seconds since the epoch of a UTC time written like the manifests write it."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp())


def snapshot(tree: Path) -> list[tuple]:
    """Everything the builder promises to fix: paths, types, modes, mtimes, contents, link targets."""
    out = []
    for top, dirs, names in os.walk(tree):
        dirs.sort()
        for name in sorted(dirs + names):
            p = Path(top) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                what = ("l", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                what = ("d", "")
            else:
                what = ("f", hashlib.sha256(p.read_bytes()).hexdigest())
            out.append((p.relative_to(tree).as_posix(), stat.S_IMODE(st.st_mode), st.st_mtime_ns, *what))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, BuiltFixture]:
    root = tmp_path_factory.mktemp("fixtures")
    return {name: build_fixture(name, root / name) for name in fixture_names()}


def test_five_distinct_fixtures_ship_and_are_found_through_the_package() -> None:
    names = fixture_names()
    assert len(names) >= 5
    assert {"codebase", "weblogs", "homedir", "sysconf", "releases"} <= set(names)
    assert fixtures_root() == Path(str(resources.files("assets"))) / "exec" / "fixtures"
    for name in names:
        assert (fixture_dir(name) / "fixture.toml").is_file()


def test_every_fixture_builds_with_modes_sh(built: dict[str, BuiltFixture]) -> None:
    for name, b in built.items():
        assert b.tree.is_dir() and b.tree.name == "tree", name
        assert b.modes_sh.read_text() == modes_script(b.modes)
        assert len(snapshot(b.tree)) > 20, name


def test_two_builds_are_identical(built: dict[str, BuiltFixture], tmp_path: Path) -> None:
    for name, first in built.items():
        again = build_fixture(name, tmp_path / name)
        assert snapshot(again.tree) == snapshot(first.tree), name
        assert again.modes == first.modes
        assert again.modes_sh.read_bytes() == first.modes_sh.read_bytes()


def test_the_tree_on_disk_stays_copyable_and_the_real_modes_come_back_deepest_first(
    built: dict[str, BuiltFixture],
) -> None:
    for b in built.values():
        for top, dirs, names in os.walk(b.tree):
            for name in dirs + names:
                st = (Path(top) / name).lstat()
                if stat.S_ISDIR(st.st_mode):
                    assert st.st_mode & 0o700 == 0o700, name
                elif stat.S_ISREG(st.st_mode):
                    assert st.st_mode & 0o600 == 0o600, name
        depths = [rel.count("/") for rel, _ in b.modes]
        assert depths == sorted(depths, reverse=True)
    code = dict(built["codebase"].modes)
    assert code[".env"] == 0o600 and code["LICENSE"] == 0o444 and code["tmp"] == 0o700
    assert code["scripts/deploy.sh"] == 0o755
    assert stat.S_IMODE((built["codebase"].tree / "LICENSE").stat().st_mode) == 0o644  # written u+rw
    lines = built["sysconf"].modes_sh.read_text().splitlines()
    assert "chmod 0600 -- etc/ssl/private/server.key" in lines
    assert lines.index("chmod 0600 -- etc/ssl/private/server.key") < lines.index(
        "chmod 0700 -- etc/ssl/private"
    )
    home = built["homedir"].modes_sh.read_text()
    assert "chmod 0444 -- Documents/notes/readonly-recipe.txt" in home
    assert home.rstrip().endswith("chmod 0700 -- .ssh")


def test_modes_sh_quotes_odd_names() -> None:
    assert modes_script([("a b/it's", 0o600), ("-x", 0o755)]) == (
        "chmod 0600 -- 'a b/it'\"'\"'s'\nchmod 0755 -- -x\n"
    )


def test_mtimes_are_fixed_for_files_dirs_and_symlinks(built: dict[str, BuiltFixture]) -> None:
    logs = built["weblogs"].tree
    assert (logs / "logs/access.log").stat().st_mtime == ts("2024-03-10T23:59:58Z")
    assert (logs / "data/old").stat().st_mtime == ts("2023-01-03T08:00:00Z")
    assert logs.stat().st_mtime == ts("2024-03-11T00:05:00Z")  # the default, also on folders
    assert (logs / "reports").stat().st_mtime == ts("2024-03-11T00:05:00Z")
    rel = built["releases"].tree
    assert os.lstat(rel / "current").st_mtime == ts("2024-03-20T10:00:00Z")
    assert os.readlink(rel / "current") == "releases/v2.1"


def test_empty_dirs_generated_files_and_transient_entries(built: dict[str, BuiltFixture]) -> None:
    code = built["codebase"].tree
    assert (code / "logs").is_dir() and not any((code / "logs").iterdir())
    seed = (code / "data/seed.sql").read_text().splitlines()
    assert len(seed) == 1500 and seed[41] == "INSERT INTO orders (id, status) VALUES (42, 'pending');"
    assert (code / ".gitignore").read_text().startswith("__pycache__/\n")
    home = built["homedir"].tree
    video = home / "Videos/birthday.mp4"
    assert video.stat().st_size == 3 << 20
    one, copy = (
        home / "Pictures/Vacation 2023/IMG_0001.JPG",
        home / "Pictures/Vacation 2023/IMG_0001 (copy).JPG",
    )
    assert one.read_bytes() == copy.read_bytes()  # same seed, same bytes: a duplicate on purpose
    assert not (built["releases"].tree / "src").exists()
    assert not (built["weblogs"].tree / "logs/access.log.2").exists()


def test_archives_are_deterministic_and_readable(built: dict[str, BuiltFixture]) -> None:
    dist = built["releases"].tree / "dist"
    raw = (dist / "app-2.1.tar.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # gzip header mtime 0
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tf:
        members = tf.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.split("/")) and names[0] == "v2.1"
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    by_name = {m.name: m for m in members}
    assert by_name["v2.1/bin/app"].mode == 0o755 and by_name["v2.1/conf/secrets.conf"].mode == 0o600
    assert by_name["v2.1/bin/run"].issym() and by_name["v2.1/bin/run"].linkname == "app"
    assert by_name["v2.1/bin/app"].mtime == ts("2024-03-18T09:30:00Z")
    with zipfile.ZipFile(dist / "app-2.1.zip") as zf:
        info = zf.getinfo("v2.1/bin/app")
        assert (info.external_attr >> 16) & 0o777 == 0o755 and info.date_time == (2024, 3, 18, 9, 30, 0)
        assert zf.read("v2.1/VERSION") == b"2.1\n"
    sums = dict(reversed(line.split("  ")) for line in (dist / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"app-1.0.tar.gz", "app-2.0.tar.gz", "app-2.1.tar.gz", "app-2.1.tar", "app-2.1.zip"}
    for name, digest in sums.items():
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest
    notes = gzip.decompress((dist / "RELEASE_NOTES-2.1.txt.gz").read_bytes())
    assert notes == (built["releases"].tree / "RELEASE_NOTES.md").read_bytes()


def test_package_data_ships_every_asset_file() -> None:
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "assets"
    ]
    assets = REPO / "assets"
    shipped: set[str] = set()
    for pattern in patterns:  # setuptools expands them with glob(recursive=True), files only
        shipped |= {p for p in glob.glob(str(assets / pattern), recursive=True) if os.path.isfile(p)}
    exec_files = {str(p) for p in (assets / "exec").rglob("*") if p.is_file()}
    assert exec_files and exec_files <= shipped


# --- bad manifests -------------------------------------------------------------------------------


def make_fixture(root: Path, manifest: str, files: dict[str, str] | None = None) -> Path:
    folder = root / "fx"
    (folder / "files").mkdir(parents=True)
    (folder / "fixture.toml").write_text(manifest)
    for rel, text in (files or {}).items():
        (folder / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / "files" / rel).write_text(text)
    return folder


HEAD = 'mtime = "2024-03-01T12:00:00Z"\n'


@pytest.mark.parametrize(
    ("manifest", "files", "needle"),
    [
        (HEAD + '[paths."gone.txt"]\nmode = "0600"\n', {}, '[paths."gone.txt"]: no files/gone.txt'),
        (HEAD + '[paths."a.txt"]\ncolour = "red"\n', {"a.txt": "x"}, "colour: unknown key"),
        (HEAD + 'owner = "me"\n', {}, "owner: unknown top-level key"),
        (HEAD + '[paths."link"]\nsymlink = "../../etc/passwd"\n', {}, "escapes the tree"),
        (HEAD + '[paths."link"]\nsymlink = "/etc/passwd"\n', {}, "bad target"),
        (HEAD + '[paths."a.txt"]\nmode = "rw-r--r--"\n', {"a.txt": "x"}, "bad mode 'rw-r--r--'"),
        (HEAD + '[paths."a.txt"]\nmode = "0999"\n', {"a.txt": "x"}, "bad mode"),
        (HEAD + '[paths."a.txt"]\nmtime = "yesterday"\n', {"a.txt": "x"}, "bad time 'yesterday'"),
        (HEAD + '[paths."a.txt"]\nmtime = "2024-03-01T12:00:00"\n', {"a.txt": "x"}, "with a zone is needed"),
        ('mtime = "1970-01-02T00:00:00Z"\n', {}, "before 1980"),
        ("", {}, "mtime: missing"),
        (HEAD + '[paths."../out.txt"]\ntext = "x"\n', {}, "leaves the tree"),
        (HEAD + '[paths."a.txt"]\ntext = "x"\nsymlink = "b"\n', {}, "sets both text and symlink"),
        (HEAD + '[paths."a.tar"]\narchive = "rar"\nmembers = ["x"]\n', {}, "unknown archive format 'rar'"),
        (HEAD + '[paths."a.tar"]\narchive = "tar"\nmembers = ["nope"]\n', {}, "'nope' does not exist"),
        (HEAD + '[paths."a.gz"]\narchive = "gz"\nmembers = ["a", "b"]\n', {}, "a gz archive holds one file"),
        (HEAD + '[paths."r.bin"]\ngenerate = "random"\n', {}, '[paths."r.bin"] size: missing'),
        (HEAD + '[paths."r.bin"]\ngenerate = "noise"\nsize = 3\n', {}, "unknown generator 'noise'"),
        (HEAD, {".hidden": "x"}, "files/.hidden: hidden names are not shipped"),
        (HEAD + '[paths."a.txt"]\ntext = "x"\n', {"a.txt": "y"}, "is a text but files/a.txt exists"),
        ("mtime = [", {}, "not valid TOML"),
    ],
)
def test_a_bad_manifest_is_one_line_naming_file_and_key(
    tmp_path: Path, manifest: str, files: dict[str, str], needle: str
) -> None:
    folder = make_fixture(tmp_path, manifest, files)
    dest = tmp_path / "out"
    with pytest.raises(DataError) as err:
        build_fixture(folder, dest)
    text = str(err.value)
    assert isinstance(err.value, TunerError) and err.value.kind == "data"
    assert "\n" not in text and str(folder / "fixture.toml") in text and needle in text, text
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fx"]  # no half-built staging folder left


def test_a_failure_late_in_the_build_leaves_nothing_that_looks_complete(tmp_path: Path) -> None:
    manifest = (
        HEAD + '[paths."a.txt"]\nmode = "0444"\n[paths."z.tar"]\narchive = "tar"\nmembers = ["missing"]\n'
    )
    folder = make_fixture(tmp_path, manifest, {"a.txt": "x", "sub/b.txt": "y"})
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(DataError, match="'missing' does not exist"):
        build_fixture(folder, dest)
    assert dest.is_dir() and not any(dest.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fx", "out"]


def test_a_small_manifest_builds_what_it_says(tmp_path: Path) -> None:
    manifest = HEAD + (
        '[paths."bin/run.sh"]\nmode = "0755"\nmtime = "2024-01-02T03:04:05Z"\n'
        '[paths."secret"]\nmode = "0400"\ntext = "k\\n"\n'
        '[paths."locked"]\ndir = true\nmode = "0500"\n'
        '[paths."link"]\nsymlink = "bin/run.sh"\n'
        '[paths."stage/x.txt"]\ntext = "gone\\n"\ntransient = true\n'
        '[paths."x.tar"]\narchive = "tar"\nroot = "stage"\nmembers = ["x.txt"]\n'
    )
    folder = make_fixture(tmp_path, manifest, {"bin/run.sh": "#!/bin/sh\n"})
    b = build_fixture(folder, tmp_path / "out")
    assert b.name == "fx"
    assert b.modes == [("bin/run.sh", 0o755), ("locked", 0o500), ("secret", 0o400)]
    assert stat.S_IMODE((b.tree / "secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((b.tree / "locked").stat().st_mode) == 0o700
    assert (b.tree / "bin/run.sh").stat().st_mtime == ts("2024-01-02T03:04:05Z")
    assert not (b.tree / "stage/x.txt").exists() and (b.tree / "stage").is_dir()
    with tarfile.open(b.tree / "x.tar") as tf:
        member = tf.extractfile("x.txt")
        assert tf.getnames() == ["x.txt"] and member is not None and member.read() == b"gone\n"
    assert (tmp_path / "out/modes.sh").read_text().splitlines() == [
        "chmod 0755 -- bin/run.sh",
        "chmod 0500 -- locked",
        "chmod 0400 -- secret",
    ]


def test_a_path_used_as_file_and_folder_is_a_data_error(tmp_path: Path) -> None:
    folder = make_fixture(tmp_path, HEAD + '[paths."a.txt/inner"]\ntext = "x"\n', {"a.txt": "x"})
    with pytest.raises(DataError, match=r"fixture\.toml: a\.txt.*cannot be written"):
        build_fixture(folder, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fx"]


def test_a_destination_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="not an empty folder"):
        build_fixture("codebase", tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_an_unknown_fixture_name_lists_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="shipped fixtures: codebase"):
        fixture_dir("nope")
    with pytest.raises(DataError, match="no fixture 'nope'"):
        build_fixture("nope", tmp_path / "out")
