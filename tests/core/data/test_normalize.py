import pytest

from core.data.normalize import normalize_command, normalize_instruction

# Pairs that must collapse to the same key.
SAME = [
    ("ls   -la", "ls -la"),
    ("ls -la;", "ls -la"),
    ("  ls -la ;  ", "ls -la"),
    ("echo 'foo'", "echo foo"),
    ('echo "foo"', "echo foo"),
    ("echo 'foo bar'", 'echo "foo bar"'),
    ("echo a\\ b", "echo 'a b'"),
    ("find . -name '*.txt'", 'find . -name "*.txt"'),
    ("find . -exec rm {} \\;", "find . -exec rm '{}' ';'"),
    ("ls|wc -l", "ls | wc  -l"),
    ("ls 2> /dev/null", "ls 2>/dev/null"),
    ("cat <  in.txt >out.txt", "cat <in.txt > out.txt"),
    ("echo `date`", "echo $(date)"),
    ("echo $(  date   +%s )", "echo $(date +%s)"),
    ("echo $((1 + 2))", "echo $((1+2))"),
    ("grep -E 'a|b' f", 'grep -E "a|b" f'),
    ("sed 's/a/b/g' f", "sed s/a/b/g f"),
    ("x='a b'", 'x="a b"'),
    ("diff <(ls a)  <(ls b)", "diff <(ls a) <(ls b)"),
    ("ls \\\n  -la", "ls -la"),
    ("echo ''", 'echo ""'),
]

# Pairs whose difference matters to bash: they must stay different.
DIFFERENT = [
    ("find . -name *.txt", "find . -name '*.txt'"),  # unquoted glob expands
    ('echo "$HOME"', "echo '$HOME'"),  # expansion vs literal
    ('echo "$HOME"', "echo $HOME"),  # word splitting
    ("x=1", "'x=1'"),  # assignment vs command name
    ("echo 'foo bar'", "echo foo bar"),  # one argument vs two
    ("ls -la", "ls -l"),
    ("ls\npwd", "ls pwd"),  # newline separates commands
    ("ls &", "ls"),
    ("echo 'a  b'", "echo 'a b'"),  # whitespace inside quotes is data
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_equivalent_commands_share_a_key(a, b):
    assert normalize_command(a) == normalize_command(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_meaningful_differences_are_kept(a, b):
    assert normalize_command(a) != normalize_command(b)


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        ("ls   -la ;", "ls -la"),
        ('find  .  -name "*.py"', "find . -name '*.py'"),
        ('echo "it\'s"', 'echo "it\'s"'),
        ("ls >out 2>&1", "ls >out 2>&1"),
        ("a=(x  y)", "a=(x y)"),
        ('echo "$(echo "hi  there")"', 'echo "$(echo "hi  there")"'),  # nested quotes untouched
    ],
)
def test_canonical_form(cmd, expected):
    assert normalize_command(cmd) == expected


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        ("echo 'unterminated   x", "echo 'unterminated x"),  # unbalanced: whitespace collapse only
        ('echo "open  ;', 'echo "open'),
        ("cat <<EOF\nhi   there\nEOF", "cat <<EOF\nhi there\nEOF"),  # heredoc: per-line collapse
        ("echo $(ls", "echo $(ls"),
    ],
)
def test_fallback_when_quoting_is_unbalanced(cmd, expected):
    assert normalize_command(cmd) == expected


@pytest.mark.parametrize("junk", ["", "   ", "\n\n", "'", '"', "\\", "$(", "`", "((((", None, 42])
def test_never_raises(junk):
    assert isinstance(normalize_command(junk), str)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("List files.", "list files"),
        ("  List   ALL\tfiles!! ", "list all files"),
        ('"List files."', "list files"),
        ('"List files".', "list files"),
        ("'show disk usage?'", "show disk usage"),
        ("“Print the date”", "print the date"),
        ('Replace "a" with "b"', 'replace "a" with "b"'),
        ('"a" and "b"', '"a" and "b"'),  # not one surrounding pair
        ("Count lines in *.py", "count lines in *.py"),
        ("Straße", "strasse"),  # casefold, not lower
        ("", ""),
    ],
)
def test_normalize_instruction(text, expected):
    assert normalize_instruction(text) == expected


def test_instruction_variants_share_a_key():
    assert normalize_instruction("Show the date?") == normalize_instruction("  show THE date ")
