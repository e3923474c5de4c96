"""Local sources: every format loads; bad input is a counted rejection or one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config.schema import SourceCfg
from core.data.sources import MAX_LINE_BYTES, bundled_dataset_path, load_source
from core.errors import DataError


def src(path: Path, **kw) -> SourceCfg:
    return SourceCfg(kind="file", path=str(path), **kw)


def jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_bundled_dataset_is_large_varied_and_categorized():
    res = load_source(SourceCfg(kind="bundled"))
    assert len(res.examples) >= 400 and not res.rejected
    cats = {ex.category for ex in res.examples}
    assert len(cats) >= 10 and "" not in cats
    assert bundled_dataset_path().is_file()


def test_jsonl_with_aliases_and_row_ids(tmp_path):
    p = jsonl(tmp_path / "d.jsonl", [{"nl": "list files", "cmd": "ls"}, {"nl": "where am i", "cmd": "pwd"}])
    res = load_source(src(p))
    assert [(e.instruction, e.command) for e in res.examples] == [("list files", "ls"), ("where am i", "pwd")]
    assert res.examples[1].row_id == "d.jsonl:2" and res.examples[0].source == "d"


def test_malformed_line_is_rejected_with_line_number(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"nl": "a", "cmd": "ls"}\n{"nl": "b", "cmd": \n{"nl": "c", "cmd": "pwd"}\n')
    res = load_source(src(p))
    assert len(res.examples) == 2
    (r,) = res.rejected
    assert r.row_id == "d.jsonl:2" and "malformed JSON" in r.reason


def test_non_utf8_line_is_rejected(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b'{"nl": "a", "cmd": "ls"}\n{"nl": "caf\xe9", "cmd": "pwd"}\n')
    res = load_source(src(p))
    assert (
        len(res.examples) == 1
        and "not UTF-8" in res.rejected[0].reason
        and res.rejected[0].row_id == "d.jsonl:2"
    )


def test_huge_single_line_is_rejected_unparsed(tmp_path):
    p = tmp_path / "d.jsonl"
    big = json.dumps({"nl": "x" * (50 * 1024 * 1024), "cmd": "ls"})
    p.write_text('{"nl": "a", "cmd": "ls"}\n' + big + "\n")
    res = load_source(src(p))
    assert len(res.examples) == 1
    assert res.rejected[0].row_id == "d.jsonl:2" and f"limit {MAX_LINE_BYTES:,}" in res.rejected[0].reason


def test_empty_file_is_an_error(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text("")
    with pytest.raises(DataError, match=r"d\.jsonl: file is empty"):
        load_source(src(p))


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_source(src(tmp_path / "nope.jsonl"))


def test_renamed_column_names_columns_and_fix(tmp_path):
    p = jsonl(tmp_path / "d.jsonl", [{"text": "list files", "shell": "ls"}])
    with pytest.raises(DataError) as e:
        load_source(src(p))
    msg = str(e.value)
    assert "d.jsonl" in msg and "shell, text" in msg and "instruction_field" in msg


def test_configured_field_missing_everywhere_is_an_error(tmp_path):
    p = jsonl(tmp_path / "d.jsonl", [{"nl": "a", "cmd": "ls"}])
    with pytest.raises(DataError, match=r"no command column 'bash'.*cmd, nl"):
        load_source(src(p, command_field="bash"))


def test_field_missing_in_some_rows_is_counted(tmp_path):
    p = jsonl(tmp_path / "d.jsonl", [{"nl": "a", "cmd": "ls"}, {"nl": "b"}, {"nl": "", "cmd": "pwd"}])
    res = load_source(src(p))
    assert len(res.examples) == 1
    assert sorted(r.reason for r in res.rejected) == ["empty instruction", "missing field 'cmd'"]


def test_csv_json_parquet(tmp_path):
    (tmp_path / "d.csv").write_text('instruction,command,category\n"list, all",ls -a,files\n')
    (tmp_path / "d.json").write_text(json.dumps({"rows": [{"query": "where", "gold": "pwd"}]}))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"q": ["disk use"], "a": ["df -h"]}), tmp_path / "d.parquet")
    assert load_source(src(tmp_path / "d.csv")).examples[0].instruction == "list, all"
    assert load_source(src(tmp_path / "d.csv")).examples[0].category == "files"
    assert load_source(src(tmp_path / "d.json")).examples[0].command == "pwd"
    ex = load_source(src(tmp_path / "d.parquet", instruction_field="q", command_field="a")).examples[0]
    assert (ex.instruction, ex.command) == ("disk use", "df -h")


def test_csv_non_utf8_names_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"instruction,command\nok,ls\ncaf\xe9,pwd\n")
    with pytest.raises(DataError, match=r"d\.csv:3: not UTF-8"):
        load_source(src(p))


def test_unknown_suffix_needs_format(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text('{"nl": "a", "cmd": "ls"}\n')
    with pytest.raises(DataError, match="format ="):
        load_source(src(p))
    assert load_source(src(p, format="jsonl")).examples[0].command == "ls"


def test_role_test_and_limit(tmp_path):
    p = jsonl(tmp_path / "d.jsonl", [{"nl": f"n{i}", "cmd": f"echo {i}"} for i in range(5)])
    res = load_source(src(p, role="test", limit=3))
    assert len(res.examples) == 3 and all(e.split == "test" for e in res.examples)
    assert len(res.rejected) == 2 and res.rejected[0].step == "limit"
