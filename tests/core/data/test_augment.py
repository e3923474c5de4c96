"""Entity-substitution augmentation: pairs stay true, output is deterministic and duplicate-free."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.data.augment import (
    AugmentStats,
    augment,
    default_key,
    find_entities,
    preview_augmentation,
)
from core.data.records import Example

REPO = Path(__file__).resolve().parents[3]


def ex(instruction: str, command: str, i: int = 0, **kw) -> Example:
    return Example(
        instruction, command, source=kw.pop("source", "test"), row_id=kw.pop("row_id", f"t#{i}"), **kw
    )


def word(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")


# a small corpus covering every entity kind, plus rows that must stay untouched
CORPUS = [
    ex(
        "Find all files under /var/log/app modified in the last 7 days",
        "find /var/log/app -type f -mtime -7",
        0,
    ),
    ex("Count the lines of data.csv", "wc -l data.csv", 1),
    ex("Find files owned by user alice in /srv/data", "find /srv/data -user alice", 2),
    ex("Find files larger than 100 KB in the current directory", "find . -type f -size +100k", 3),
    ex("Delete files in /tmp/cache not accessed for 30 minutes", "find /tmp/cache -amin +30 -delete", 4),
    ex("Search all .txt files for the word ERROR", "find . -name '*.txt' -exec grep -l ERROR {} +", 5),
    ex("Extract backup.tar.gz into /opt/restore", "tar -xzf backup.tar.gz -C /opt/restore", 6),
    ex("Change the owner of report.txt to bob", "chown bob report.txt", 7),
    ex("Show the kernel version", "uname -r", 8),
    ex("List listening TCP ports", "ss -ltn", 9),
]
KINDS_BY_ROW = {
    0: {"path", "time"},
    1: {"file"},
    2: {"user", "path"},
    3: {"size"},
    4: {"path", "time"},
    5: {"glob"},
    6: {"file", "path"},
    7: {"user", "file"},
}


def kinds(e: Example) -> set[str]:
    return {k for k, _, _ in e.substitutions}


def run(examples=CORPUS, **kw):
    return augment(list(examples), **kw)


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("row,expected", sorted(KINDS_BY_ROW.items()))
def test_each_entity_kind_is_detected(row: int, expected: set[str]) -> None:
    e = CORPUS[row]
    assert {ent.kind for ent in find_entities(e.instruction, e.command)} == expected


def test_rows_without_entities_yield_nothing() -> None:
    assert find_entities("Show the kernel version", "uname -r") == []
    out, stats = run(CORPUS[8:], multiplier=4.0)
    assert out == [] and stats.no_entities == 2 and stats.eligible == 0


@pytest.mark.parametrize(
    "instruction,command",
    [
        # the path, size, user, time, file name appear only in the command: swapping would lie
        ("Find big files in the log directory", "find /var/log -size +10M"),
        ("Find files owned by the web server account", "find . -user alice"),
        ("Find recently modified files", "find . -mtime -7"),
        ("Count lines of the input file", "wc -l data.csv"),
        ("Find large files in my home", "find ~ -size +100M"),
        # a range: the bounds must stay ordered, so neither is touched
        ("Find files modified more than 7 days ago but less than 30 days ago", "find . -mtime +7 -mtime -30"),
        ("Find files between 10 MB and 50 MB", "find . -size +10M -size -50M"),
        # "root" as a word, not as the user: the pair would read "the bob directory"
        ("Find files in the root directory owned by root", "find / -maxdepth 1 -user root"),
        # system files: a different path would make the command wrong
        ("Show the first lines of /etc/passwd", "head /etc/passwd"),
        ("Discard output into /dev/null", "make > /dev/null"),
        # the unit is not stated ("5*24 hours"), so the number cannot be rewritten safely
        ("Show files modified in the last 5*24 hours", "find . -mtime -5"),
        # .txt also occurs outside the glob, in a regex the swap would not update
        ("Rename all .txt files to .bak", "rename 's/\\.txt$/.bak/' *.txt"),
    ],
)
def test_entity_only_in_command_is_not_substituted(instruction: str, command: str) -> None:
    assert find_entities(instruction, command) == []
    out, stats = augment([ex(instruction, command)], multiplier=4.0)
    assert out == [] and stats.no_entities == 1


def test_partial_mention_only_substitutes_what_both_texts_state() -> None:
    # the size is stated, the path is not: only the size may change
    e = ex("Find files bigger than 10 MB", "find /var/log -size +10M")
    out, _ = augment([e], multiplier=5.0)
    assert out
    for a in out:
        assert kinds(a) == {"size"}
        assert a.command.startswith("find /var/log -size +")


# --------------------------------------------------------------------------- consistency


def test_substitutions_are_consistent_in_both_texts() -> None:
    out, stats = run(multiplier=6.0)
    assert stats.produced == len(out) > 0
    for a in out:
        assert a.substitutions
        for kind, old, new in a.substitutions:
            assert old != new
            if kind in ("path", "file", "user"):
                assert new in a.instruction and new in a.command, (kind, new, a)
                assert not word(old).search(a.instruction) and not word(old).search(a.command), (kind, old, a)
            elif kind == "glob":
                ext_old, ext_new = old[2:], new[2:]
                assert new in a.command and f".{ext_new}" in a.instruction
                assert not word(ext_old).search(a.instruction) and not word(ext_old).search(a.command)


def test_path_prefix_relation_is_kept() -> None:
    # /srv/www/cache lies inside /srv/www: both must move together
    e = ex(
        "List everything under /srv/www except /srv/www/cache",
        "find /srv/www -path /srv/www/cache -prune -o -print",
    )
    out, _ = augment([e], multiplier=6.0)
    assert out
    for a in out:
        ((kind, old, new),) = a.substitutions
        assert (kind, old) == ("path", "/srv/www")
        assert a.command == f"find {new} -path {new}/cache -prune -o -print"
        assert a.instruction == f"List everything under {new} except {new}/cache"


def test_path_is_replaced_as_a_whole_token() -> None:
    # /var/log/app is a prefix of /var/log/app-backup as a string, not as a path
    e = ex("Copy /var/log/app to /var/log/app-backup", "cp -r /var/log/app /var/log/app-backup")
    out, _ = augment([e], multiplier=10.0)
    alone = [a for a in out if [s[1] for s in a.substitutions] == ["/var/log/app"]]
    assert alone
    for a in alone:
        new = a.substitutions[0][2]
        assert a.command == f"cp -r {new} /var/log/app-backup"
        assert a.instruction == f"Copy {new} to /var/log/app-backup"


def test_file_name_keeps_its_extension() -> None:
    out, _ = augment([CORPUS[6]], multiplier=8.0)
    names = [new for a in out for k, _, new in a.substitutions if k == "file"]
    assert names and all(n.endswith(".tar.gz") and n != "backup.tar.gz" for n in names)
    for a in out:
        assert re.fullmatch(r"tar -xzf \S+\.tar\.gz -C /\S+", a.command)


def test_user_swapped_everywhere() -> None:
    e = ex("Copy /home/alice/notes to /tmp as user alice", "sudo -u alice cp -r /home/alice/notes /tmp")
    out, _ = augment([e], multiplier=12.0)
    users = [new for a in out for k, _, new in a.substitutions if k == "user"]
    assert users
    for a in out:
        if "user" in kinds(a):
            new = next(n for k, _, n in a.substitutions if k == "user")
            assert a.command.startswith(f"sudo -u {new} cp -r /home/{new}/notes ")
            assert f"/home/{new}/notes" in a.instruction and f"as user {new}" in a.instruction
            assert "alice" not in a.command and "alice" not in a.instruction


def test_user_only_swapped_in_recognised_positions() -> None:
    # the second "joe" is a grep pattern, not a user argument: the conservative rule leaves the
    # name alone rather than guess which mentions are the user
    ents = find_entities("Search notes.txt for joe as user joe", "sudo -u joe grep joe notes.txt")
    assert "user" not in {x.kind for x in ents}
    # but a real user flag with the same name elsewhere as a user position is fine
    e = ex("Kill all processes of user joe", "pkill -u joe")
    assert [(x.kind, x.old) for x in find_entities(e.instruction, e.command)] == [("user", "joe")]


@pytest.mark.parametrize(
    "instruction,command,flag,unit_word",
    [
        ("Find files modified in the last 7 days", "find . -mtime -7", "-mtime", "day"),
        ("Find files changed less than 60 minutes ago", "find /srv -cmin -60", "-cmin", "minute"),
    ],
)
def test_time_flags(instruction: str, command: str, flag: str, unit_word: str) -> None:
    out, _ = augment([ex(instruction, command)], multiplier=6.0)
    assert out
    for a in out:
        assert "time" in kinds(a)
        m = re.search(rf"{flag} -(\d+)", a.command)
        assert m, a.command
        n = int(m.group(1))
        plural = "" if n == 1 else "s"
        assert re.search(rf"\b{n} {unit_word}{plural}\b", a.instruction), (a.instruction, a.command)


def test_time_in_words_is_rewritten_in_words() -> None:
    out, _ = augment([ex("List files modified in the last seven days", "find . -mtime -7")], multiplier=6.0)
    assert out
    numbers = {
        "one": 1,
        "two": 2,
        "three": 3,
        "five": 5,
        "ten": 10,
        "fourteen": 14,
        "fifteen": 15,
        "twenty": 20,
        "thirty": 30,
        "forty-five": 45,
        "sixty": 60,
        "ninety": 90,
    }
    for a in out:
        m = re.search(r"last ([a-z-]+) days?$", a.instruction)
        assert m and m.group(1) in numbers, a.instruction
        assert a.command == f"find . -mtime -{numbers[m.group(1)]}"


@pytest.mark.parametrize(
    "instruction,unit_re",
    [
        ("Find files larger than 100 KB", r"(\d+) (KB|MB|GB)"),
        ("Find files larger than 100k", r"(\d+)(k|M|G)"),
        ("Find files larger than 100 kilobytes", r"(\d+) (kilobytes?|megabytes?|gigabytes?)"),
    ],
)
def test_size_keeps_the_instruction_unit_style(instruction: str, unit_re: str) -> None:
    out, _ = augment([ex(instruction, "find . -size +100k")], multiplier=8.0)
    assert out
    for a in out:
        m = re.search(r"-size \+(\d+)([kMG])$", a.command)
        assert m, a.command
        mi = re.search(unit_re + "$", a.instruction)
        assert mi, a.instruction
        assert mi.group(1) == m.group(1)
        assert mi.group(2)[0].lower() == m.group(2).lower()
        if mi.group(2).endswith(("byte", "bytes")):
            assert mi.group(2).endswith("s") == (m.group(1) != "1")


def test_glob_extension_stays_in_its_family() -> None:
    out, _ = augment([CORPUS[5]], multiplier=4.0)
    assert out
    for a in out:
        ((kind, old, new),) = a.substitutions
        assert kind == "glob" and old == "*.txt" and new in ("*.log", "*.md")
        assert f"'{new}'" in a.command and f"all .{new[2:]} files" in a.instruction


# --------------------------------------------------------------------------- bookkeeping


def test_origin_row_id_and_fields_recorded() -> None:
    base = [ex(e.instruction, e.command, i, category="find", split="train") for i, e in enumerate(CORPUS)]
    out, _ = augment(base, multiplier=4.0)
    by_id = {e.row_id: e for e in base}
    seen_ids = set()
    for a in out:
        orig = by_id[a.origin]
        assert re.fullmatch(re.escape(orig.row_id) + r"~aug\d+", a.row_id)
        assert a.row_id not in seen_ids
        seen_ids.add(a.row_id)
        assert (a.source, a.category, a.split) == (orig.source, "find", "train")
        assert a.substitutions and all(len(s) == 3 for s in a.substitutions)
        assert default_key(a) != default_key(orig)
        assert Example.from_json(json.loads(json.dumps(a.to_json()))) == a


def test_originals_are_not_returned_nor_mutated() -> None:
    before = [e.to_json() for e in CORPUS]
    out, _ = run(multiplier=4.0)
    assert [e.to_json() for e in CORPUS] == before
    orig_ids = {e.row_id for e in CORPUS}
    assert all(a.row_id not in orig_ids and a.origin in orig_ids for a in out)
    assert not {a.origin for a in out} & {"t#8", "t#9"}


def test_stats_add_up() -> None:
    out, stats = run(multiplier=4.0)
    assert isinstance(stats, AugmentStats)
    assert stats.originals == len(CORPUS)
    assert stats.eligible == 8 and stats.no_entities == 2
    assert stats.produced == len(out)
    assert sum(stats.by_kind.values()) == sum(len(a.substitutions) for a in out)
    assert set(stats.by_kind) == {"path", "file", "user", "time", "size", "glob"}
    assert set(stats.to_json()) >= {
        "originals",
        "eligible",
        "produced",
        "duplicates_skipped",
        "no_entities",
        "by_kind",
    }


# --------------------------------------------------------------------------- stopping rules


def test_multiplier_stops_at_total() -> None:
    out, _ = run(multiplier=3.0)
    assert len(out) == 3 * len(CORPUS) - len(CORPUS)
    assert run(multiplier=1.0)[0] == []
    assert run(multiplier=None)[0] == []


def test_target_size_stops_at_total_and_wins_over_multiplier() -> None:
    out, _ = run(target_size=len(CORPUS) + 7, multiplier=10.0)
    assert len(out) == 7
    assert run(target_size=len(CORPUS) - 1)[0] == []


def test_spread_over_eligible_rows() -> None:
    out, _ = run(target_size=len(CORPUS) + 8)
    assert len({a.origin for a in out}) == 8  # one each before any row gets a second


def test_stops_short_when_variants_run_out() -> None:
    # a glob with two alternatives can give only two new rows
    out, stats = augment([CORPUS[5]], multiplier=50.0)
    assert len(out) == 2 and stats.exhausted == 1


# --------------------------------------------------------------------------- duplicates


def test_no_duplicates_within_output() -> None:
    out, _ = run(multiplier=8.0)
    keys = [default_key(a) for a in out]
    assert len(keys) == len(set(keys))
    assert not set(keys) & {default_key(e) for e in CORPUS}


def test_existing_keys_are_never_produced() -> None:
    first, _ = run(multiplier=4.0)
    existing = {default_key(a) for a in first}
    second, stats = run(multiplier=4.0, existing_keys=existing)
    assert second
    assert not {default_key(a) for a in second} & existing
    assert stats.duplicates_skipped > 0
    assert existing == {default_key(a) for a in first}  # the caller's set is not modified


def test_custom_key_fn_is_used() -> None:
    out, _ = run(multiplier=6.0, key_fn=lambda e: " ".join(e.command.split()))
    commands = [" ".join(a.command.split()) for a in out]
    assert len(commands) == len(set(commands))


def test_key_normalises_case_and_whitespace() -> None:
    a = ex("  Count the lines of DATA.csv ", "wc  -l   data.csv")
    assert default_key(a) == ("count the lines of data.csv", "wc -l data.csv")


# --------------------------------------------------------------------------- determinism


def _dump(rows: list[Example]) -> list[dict]:
    return [r.to_json() for r in rows]


def test_same_seed_same_output() -> None:
    a, sa = run(multiplier=4.0, seed=7)
    b, sb = run(multiplier=4.0, seed=7)
    assert _dump(a) == _dump(b) and sa == sb


def test_different_seed_different_output() -> None:
    a, _ = run(multiplier=4.0, seed=1)
    b, _ = run(multiplier=4.0, seed=2)
    assert _dump(a) != _dump(b)


def test_independent_of_hash_randomization() -> None:
    code = (
        "import json, sys; sys.path.insert(0, '.');"
        "from tests.core.data.test_augment import CORPUS;"
        "from core.data.augment import augment;"
        "print(json.dumps([e.to_json() for e in augment(CORPUS, multiplier=5.0, seed=3)[0]]))"
    )
    outs = []
    for hs in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hs}
        res = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
        assert res.returncode == 0, res.stderr
        outs.append(res.stdout)
    assert outs[0] == outs[1] and outs[0].strip() != "[]"


# --------------------------------------------------------------------------- preview


def test_preview_pairs() -> None:
    pairs = preview_augmentation(CORPUS, n=5, seed=42)
    assert len(pairs) == 5
    for orig, aug in pairs:
        assert orig in CORPUS and aug.origin == orig.row_id and aug.substitutions
        assert (aug.instruction, aug.command) != (orig.instruction, orig.command)
    assert [(o.row_id, a.to_json()) for o, a in pairs] == [
        (o.row_id, a.to_json()) for o, a in preview_augmentation(CORPUS, n=5, seed=42)
    ]
    assert len(preview_augmentation(CORPUS, n=50)) == 8  # only the eligible rows
    assert preview_augmentation(CORPUS[8:], n=3) == []
