"""The sandbox for real: what a command sees, what it leaves, and escape attempts that must fail."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from core.sandbox.bwrap import write_identity
from core.sandbox.run import Limits, run_in_sandbox

pytestmark = pytest.mark.usefixtures("sandbox_ready")
LIMITS = Limits(time_s=3.0)


@pytest.fixture
def fixture(tmp_path: Path) -> Path:
    """A tiny fixture folder: tree/ with a file, a 0600 secret (mode applied by modes.sh), a symlink."""
    root = tmp_path / "fx"
    (root / "tree" / "src").mkdir(parents=True)
    (root / "tree" / "src" / "a.py").write_text("print(1)\n")
    (root / "tree" / "notes.txt").write_text("one\ntwo\n")
    (root / "tree" / "key.pem").write_text("secret\n")
    os.symlink("src/a.py", root / "tree" / "main.py")
    (root / "modes.sh").write_text("chmod 0600 -- key.pem\n")
    return root


@pytest.fixture
def identity(tmp_path: Path) -> tuple[Path, Path]:
    return write_identity(tmp_path / "id")


def test_command_sees_the_fixture_as_home(fixture: Path, identity) -> None:
    out = run_in_sandbox("pwd; whoami; hostname; echo $HOME; cat notes.txt; ls", fixture, identity, LIMITS)
    assert out.ok, out.stderr
    assert out.stdout.splitlines() == [
        "/home/user",
        "user",
        "sandbox",
        "/home/user",
        "one",
        "two",
        "key.pem",
        "main.py",
        "notes.txt",
        "src",
    ]
    assert out.tree is not None
    assert out.tree["key.pem"].mode == 0o600  # modes.sh ran after the copy
    assert out.tree["main.py"].kind == "l" and out.tree["main.py"].target == "src/a.py"
    assert out.tree["src"].kind == "d"
    assert out.tree["notes.txt"].sha256 is not None


def test_changes_show_in_the_tree_and_each_run_starts_fresh(fixture: Path, identity) -> None:
    first = run_in_sandbox("rm notes.txt; echo hi > new.txt; chmod 755 new.txt", fixture, identity, LIMITS)
    assert first.ok and first.tree is not None
    assert "notes.txt" not in first.tree and first.tree["new.txt"].mode == 0o755
    second = run_in_sandbox("ls", fixture, identity, LIMITS)
    assert second.tree is not None and "notes.txt" in second.tree and "new.txt" not in second.tree
    assert (fixture / "tree" / "notes.txt").read_text() == "one\ntwo\n"  # the source is read-only inside


def test_exit_status_is_reported(fixture: Path, identity) -> None:
    out = run_in_sandbox("ls does-not-exist", fixture, identity, LIMITS)
    assert out.exit_code == 2 and not out.ok
    assert "does-not-exist" in out.stderr


def test_writes_outside_the_sandbox_never_reach_the_host(fixture: Path, identity, tmp_path: Path) -> None:
    canary = Path(tempfile.gettempdir()) / f"tuner-canary-{os.getpid()}"
    canary.write_text("host")
    try:
        attempts = [
            f"echo pwned > {canary}",
            f"rm -f {canary}",
            "rm -rf --no-preserve-root / 2>/dev/null; true",
            f"cp /etc/passwd {fixture}/tree/stolen",
            f"ln -s /etc {tmp_path}/escape",
        ]
        for cmd in attempts:
            run_in_sandbox(cmd, fixture, identity, LIMITS)
        assert canary.read_text() == "host"
        assert not (fixture / "tree" / "stolen").exists() and not (tmp_path / "escape").exists()
        assert (fixture / "tree" / "notes.txt").is_file()
    finally:
        canary.unlink(missing_ok=True)


def test_host_files_are_not_visible(fixture: Path, identity) -> None:
    out = run_in_sandbox(
        f"ls {Path.home()} /root /work {Path(__file__).parent} 2>&1; cat /etc/shadow 2>&1; true",
        fixture,
        identity,
        LIMITS,
    )
    assert out.ok
    assert "No such file or directory" in out.stdout
    assert "test_run.py" not in out.stdout


def test_no_network(fixture: Path, identity) -> None:
    out = run_in_sandbox(
        "exec 3<>/dev/tcp/127.0.0.1/22 || exec 3<>/dev/tcp/1.1.1.1/80", fixture, identity, LIMITS
    )
    assert out.exit_code != 0


def test_no_nested_user_namespace(fixture: Path, identity) -> None:
    out = run_in_sandbox("unshare --user true", fixture, identity, LIMITS)
    assert out.exit_code != 0


def test_a_hang_is_stopped_at_the_time_limit(fixture: Path, identity) -> None:
    started = time.monotonic()
    out = run_in_sandbox("sleep 1000", fixture, identity, Limits(time_s=1.0))
    assert out.timed_out and not out.ok
    assert time.monotonic() - started < 30  # the limit plus the sandbox's own start; never 1000 s


def test_background_processes_do_not_outlive_the_command(fixture: Path, identity) -> None:
    marker = "4321.5"  # an unusual duration to find the process by
    out = run_in_sandbox(f"sleep {marker} & echo started", fixture, identity, LIMITS)
    assert out.ok and out.stdout.strip() == "started"
    time.sleep(0.2)
    left = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_an_output_flood_is_cut_at_the_limit(fixture: Path, identity) -> None:
    started = time.monotonic()
    out = run_in_sandbox(
        "head -c 1000000000 /dev/zero | tr '\\0' x", fixture, identity, Limits(output_bytes=1 << 16)
    )
    assert out.output_flood and not out.ok
    assert len(out.stdout) <= 1 << 16
    assert time.monotonic() - started < 30


def test_a_fork_bomb_is_contained(fixture: Path, identity) -> None:
    out = run_in_sandbox(":(){ :|:& };:", fixture, identity, Limits(time_s=2.0))
    assert out.stdout == ""
    assert psutil.cpu_count() and len(psutil.pids()) < 30000  # the host still forks
    left = [
        p
        for p in psutil.process_iter(["name", "cmdline"])
        if "tuner-sandbox" in " ".join(p.info["cmdline"] or [])
    ]
    assert left == []


def test_filling_the_disk_stops_at_the_limits(fixture: Path, identity) -> None:
    out = run_in_sandbox(
        "head -c 100000000 /dev/zero > big; for i in 1 2 3 4 5 6; do head -c 16000000 /dev/zero > f$i; done; true",
        fixture,
        identity,
        Limits(disk_mb=32, file_mb=8),
    )
    assert out.tree is not None
    assert out.tree["big"].size <= 8 << 20  # the per-file limit
    assert sum(e.size for e in out.tree.values() if e.kind == "f") <= 32 << 20  # the home tmpfs
