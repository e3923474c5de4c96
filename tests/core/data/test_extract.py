import pytest

from core.data.extract import extract_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # plain answers
        ("ls -la", "ls -la"),
        ("  ls -la  \n", "ls -la"),
        # fenced blocks
        ("```bash\nls -la\n```", "ls -la"),
        ("```sh\nls -la\n```", "ls -la"),
        ("```\ndu -sh *\n```", "du -sh *"),
        (
            "Here is the command:\n```bash\nfind . -name '*.py'\n```\nThis finds Python files.",
            "find . -name '*.py'",
        ),
        ("```python\nprint(1)\n```\n```sh\necho hi\n```", "echo hi"),  # first *shell* block
        ("```bash\n# list everything\nls -la\n```", "ls -la"),  # comment lines dropped
        ("```console\n$ ls\nfile1 file2\n$ pwd\n/home\n```", "ls\npwd"),  # transcript: prompted lines
        ("```bash\nls -la", "ls -la"),  # truncated generation, no closing fence
        ("```ls -la```", "ls -la"),
        ("```bash ls -la```\nThis lists.", "ls -la"),
        ("```bash\nfor f in *; do\n  echo $f\ndone\n```", "for f in *; do\n  echo $f\ndone"),
        # chatter
        ("Here is the command: ls -la", "ls -la"),
        ("Here's the bash command: `ls -la`", "ls -la"),
        ("Command: ls -la", "ls -la"),
        ("Response: `ls -la`", "ls -la"),
        ("Answer: tar -czf a.tgz dir/", "tar -czf a.tgz dir/"),
        ("The command is: `grep -r foo .`", "grep -r foo ."),
        ("Sure! Here's the command you need:\nls -la\n\nExplanation: lists files.", "ls -la"),
        ("To list the files, run the following:\nls -la", "ls -la"),
        ("You can use `ls -la` to list them.", "ls -la"),
        ("$ ls -la", "ls -la"),
        ("user@host:~$ ls -la", "ls -la"),
        ("`ls -la`", "ls -la"),
        # explanations after the command
        ("ls -la\n\nThis lists all files, hidden ones too.", "ls -la"),
        ("ls -la\nThis lists all files.", "ls -la"),
        # commands that continue on more lines
        ("find . -name '*.txt' |\n  xargs wc -l\n\nCounts lines.", "find . -name '*.txt' |\n  xargs wc -l"),
        ("git status && \\\n  git diff", "git status && \\\n  git diff"),
        ("echo 'multi\nline'\nExplanation here", "echo 'multi\nline'"),
        ("cat <<EOF > f\nhello\nEOF\nThis writes f.", "cat <<EOF > f\nhello\nEOF"),
        # backticks that belong to the command
        ("echo `date`", "echo `date`"),
        ("for f in `ls`; do echo $f; done", "for f in `ls`; do echo $f; done"),
        # chat-template leftovers
        ("ls -la<|im_end|>\n<|im_start|>user", "ls -la"),
        ("ls -la</s>", "ls -la"),
    ],
)
def test_extract_command(text, expected):
    assert extract_command(text) == expected


@pytest.mark.parametrize("junk", ["", "   \n ", "```", "```bash\n```", "``", None, 3])
def test_never_raises_and_returns_str(junk):
    assert isinstance(extract_command(junk), str)


def test_empty_block_falls_back_to_text_after_it():
    assert extract_command("```bash\n```\nls") == "ls"


@pytest.mark.parametrize(
    "text",
    [
        "The root directory is /",
        "You can list them with ls",
        "we can use the find command for this",
        "Listing every file is easy.",
    ],
)
def test_prose_reason_flags_sentences_that_parse_as_bash(text):
    from core.data.extract import prose_reason
    from core.data.syntax import bash_syntax_error

    assert bash_syntax_error(text) is None  # bash would accept it: that is why the check exists
    assert prose_reason(text) is not None


@pytest.mark.parametrize(
    "command",
    [
        "ls -la",
        "yes | head -n 3",
        "find . -name '*.py' -exec wc -l {} +",
        "time make -j4",
        "which python3",
        "Rscript analysis.R --verbose",
        "test -f a.txt && echo present",
        "echo The root directory is /.",
    ],
)
def test_prose_reason_leaves_commands_alone(command):
    from core.data.extract import prose_reason

    assert prose_reason(command) is None
