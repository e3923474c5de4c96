"""core.data.hub: built-in normalizers on fixtures in each dataset's real schema, column errors,
the offline path (env offline and the real unreachable network: no retries), lazy import.

Timings of the offline failure and of the import are in bench/hub_offline.py, not asserted here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.data import hub, hub_access
from core.data.hub import (
    HubLoadResult,
    HubStream,
    iter_text_corpus,
    load_hub_source,
    map_split_name,
    normalize_dataset,
    resolve_spec,
    stream_hub_source,
)
from core.errors import DataError

REPO = Path(__file__).resolve().parents[3]
FIX = REPO / "tests" / "fixtures" / "hub"

datasets = pytest.importorskip("datasets")


# ---------------------------------------------------------------------------------------------
# fixtures: load the local files the way the Hub would hand them over
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("hf-datasets-cache"))


def _load_local(kind: str, files: dict[str, Path], cache_dir: str):
    return datasets.load_dataset(kind, data_files={k: str(v) for k, v in files.items()}, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def nl2bash_custom(cache_dir: str):
    d = FIX / "nl2bash-custom"
    return _load_local("csv", {s: d / f"{s}.csv" for s in ("train", "validation", "test")}, cache_dir)


@pytest.fixture(scope="module")
def intercode(cache_dir: str):
    return _load_local("json", {"train": FIX / "intercode-nl2bash-curated" / "train.jsonl"}, cache_dir)


@pytest.fixture(scope="module")
def linux_terminal(cache_dir: str):
    return _load_local("json", {"train": FIX / "linux-terminal-commands" / "train.jsonl"}, cache_dir)


@pytest.fixture(scope="module")
def alfa(cache_dir: str):
    """NL2SH-ALFA: configs "train" and "test", each a DatasetDict with a single split "train"."""
    d = FIX / "nl2sh-alfa"
    return {
        "train": _load_local("csv", {"train": d / "train.csv"}, cache_dir),
        "test": _load_local("csv", {"train": d / "test.csv"}, cache_dir),
    }


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, nl2bash_custom, intercode, linux_terminal, alfa):
    """Route the loaders' `open_hub_dataset` to the fixtures (same code path after loading)."""
    calls: list[tuple[str, str | None, str | None, bool]] = []
    by_id = {
        "AnishJoshi/nl2bash-custom": {None: nl2bash_custom},
        "epinnock/intercode-nl2bash-curated": {None: intercode},
        "darkknight25/Linux_Terminal_Commands_Dataset": {None: linux_terminal},
        "westenfelder/NL2SH-ALFA": alfa,
        "someone/other-dataset": {None: linux_terminal},
    }

    def fake(hub_id: str, config: str | None, split: str | None, streaming: bool):
        calls.append((hub_id, config, split, streaming))
        dd = by_id[hub_id][config]
        if split is not None:
            dd = dd[split.split("[")[0]]
        if streaming:
            if isinstance(dd, dict):
                return datasets.IterableDatasetDict({k: v.to_iterable_dataset() for k, v in dd.items()})
            return dd.to_iterable_dataset()
        return dd

    monkeypatch.setattr(hub_access, "open_hub_dataset", fake)
    return calls


# ---------------------------------------------------------------------------------------------
# normalizers
# ---------------------------------------------------------------------------------------------


def test_split_names_map() -> None:
    assert [map_split_name(s) for s in ("train", "validation", "valid", "dev", "test", "train[:10%]", "other")] == [
        "train", "val", "val", "val", "test", "train", None,
    ]  # fmt: skip


def test_nl2bash_custom(nl2bash_custom) -> None:
    r = normalize_dataset(resolve_spec("AnishJoshi/nl2bash-custom"), nl2bash_custom, "nl2bash-custom")
    assert isinstance(r, HubLoadResult)
    assert r.splits == {"train": 6, "validation": 2, "test": 2}
    first = r.examples[0]
    assert (first.instruction, first.command, first.source, first.row_id, first.split) == (
        "List all files in the current directory including hidden ones",
        "ls -a",
        "nl2bash-custom",
        "nl2bash-custom/train#0",
        "train",
    )
    by_split: dict[str | None, int] = {}
    for ex in r.examples:
        by_split[ex.split] = by_split.get(ex.split, 0) + 1
    assert by_split == {"train": 4, "val": 2, "test": 2}
    assert {ex.row_id for ex in r.examples if ex.split == "val"} == {
        "nl2bash-custom/validation#0",
        "nl2bash-custom/validation#1",
    }
    # empty instruction and whitespace-only command: refused and counted, with row ids and reasons
    assert [(x.step, x.reason, x.row_id) for x in r.rejected] == [
        ("load", "empty instruction", "nl2bash-custom/train#3"),
        ("load", "empty command", "nl2bash-custom/train#5"),
    ]
    assert r.rejected[0].command == "echo orphan command"
    assert len(r.examples) + len(r.rejected) == sum(r.splits.values())
    assert r.alternatives == {}


def test_intercode_single_train_split_is_unsplit(intercode) -> None:
    r = normalize_dataset(resolve_spec("epinnock/intercode-nl2bash-curated"), intercode, "intercode")
    assert len(r.examples) == 4
    assert r.examples[1].instruction == "Count files ending in .txt in /testbed"
    assert r.examples[1].command == "find /testbed -name '*.txt' | wc -l"
    # the Hub's only split "train" is not a real split: the pipeline decides
    assert {ex.split for ex in r.examples} == {None}
    assert [(x.reason, x.row_id) for x in r.rejected] == [("empty instruction", "intercode/train#3")]
    # ... but a split asked for explicitly is honoured
    r2 = normalize_dataset(resolve_spec("epinnock/intercode-nl2bash-curated"), intercode["train"], "intercode",
                           source_split="train")  # fmt: skip
    assert {ex.split for ex in r2.examples} == {"train"}


def test_linux_terminal_categories(linux_terminal) -> None:
    spec = resolve_spec("darkknight25/Linux_Terminal_Commands_Dataset")
    r = normalize_dataset(spec, linux_terminal, "linux-terminal-commands-dataset")
    cats = {ex.command: ex.category for ex in r.examples}
    assert cats == {
        "ls -la": "file-management",
        "ping -c 4 example.com": "networking",
        "chmod 755 script.sh": "permissions-ownership",
        "df -h": "disk-usage",
        "uname -r": "",
    }
    ex = r.examples[0]
    assert ex.instruction == "List all files with details, including hidden ones"
    assert ex.row_id == "linux-terminal-commands-dataset/train#0"
    assert [(x.reason, x.instruction) for x in r.rejected] == [("empty command", "Show running processes")]


def test_alfa_configs_are_splits(alfa) -> None:
    spec = resolve_spec("westenfelder/NL2SH-ALFA")
    train = normalize_dataset(spec, alfa["train"], "nl2sh-alfa", config="train", split_label="train")
    test = normalize_dataset(spec, alfa["test"], "nl2sh-alfa", config="test", split_label="test")
    assert {ex.split for ex in train.examples} == {"train"}
    assert {ex.split for ex in test.examples} == {"test"}
    assert [x.reason for x in train.rejected] == ["empty instruction"]
    assert test.examples[0].row_id == "nl2sh-alfa/test#0"
    assert train.examples[0].row_id == "nl2sh-alfa/train#0"
    # bash2 kept as alternatives keyed by row_id; empty or identical-to-bash alternatives are not
    assert test.alternatives == {
        "nl2sh-alfa/test#0": ["wc -w < notes.txt"],
        "nl2sh-alfa/test#1": ["id -un"],
        "nl2sh-alfa/test#2": ["head -3 data.csv"],
    }
    assert train.alternatives == {}


def test_load_hub_source_alfa_loads_both_configs(fake_hub) -> None:
    r = load_hub_source("westenfelder/NL2SH-ALFA", config=None, split=None)
    assert [c[:3] for c in fake_hub] == [
        ("westenfelder/NL2SH-ALFA", "train", None),
        ("westenfelder/NL2SH-ALFA", "test", None),
    ]
    assert r.splits == {"train": 4, "test": 5}
    assert sum(ex.split == "test" for ex in r.examples) == 5
    assert "nl2sh-alfa/test#1" in r.alternatives
    assert len({ex.row_id for ex in r.examples}) == len(r.examples)  # no id collision across configs

    fake_hub.clear()
    only_test = load_hub_source("westenfelder/NL2SH-ALFA", config=None, split="test")
    assert [c[1] for c in fake_hub] == ["test"]
    assert {ex.split for ex in only_test.examples} == {"test"}

    with pytest.raises(DataError, match=r"no config 'bogus'.*'train', 'test'"):
        load_hub_source("westenfelder/NL2SH-ALFA", config="bogus", split=None)


def test_load_hub_source_split_and_name(fake_hub) -> None:
    r = load_hub_source("AnishJoshi/nl2bash-custom", config=None, split="validation")
    assert fake_hub[-1] == ("AnishJoshi/nl2bash-custom", None, "validation", False)
    assert [(ex.row_id, ex.split, ex.source) for ex in r.examples] == [
        ("nl2bash-custom/validation#0", "val", "nl2bash-custom"),
        ("nl2bash-custom/validation#1", "val", "nl2bash-custom"),
    ]
    r2 = load_hub_source("darkknight25/Linux_Terminal_Commands_Dataset", config=None, split=None, name="ltc")
    assert r2.examples[0].source == "ltc" and r2.examples[0].row_id == "ltc/train#0"
    assert (
        hub.default_source_name("darkknight25/Linux_Terminal_Commands_Dataset")
        == "linux-terminal-commands-dataset"
    )
    assert hub.default_source_name("westenfelder/NL2SH-ALFA") == "nl2sh-alfa"


def test_generic_fallback_with_fields(fake_hub) -> None:
    r = load_hub_source(
        "someone/other-dataset",
        config=None,
        split=None,
        instruction_field="description",
        command_field="command",
        category_field="category",
    )
    assert r.examples[0].source == "other-dataset"
    assert r.examples[0].category == "file-management"
    assert len(r.examples) == 5 and len(r.rejected) == 1


def test_streaming_same_normalization(fake_hub) -> None:
    s = stream_hub_source("AnishJoshi/nl2bash-custom", config=None, split=None)
    assert isinstance(s, HubStream)
    assert fake_hub[-1][3] is True
    got = list(s)
    assert [ex.row_id for ex in got][:2] == ["nl2bash-custom/train#0", "nl2bash-custom/train#1"]
    assert {ex.split for ex in got} == {"train", "val", "test"}
    assert [x.reason for x in s.rejected] == ["empty instruction", "empty command"]
    s2 = stream_hub_source("westenfelder/NL2SH-ALFA", config="test", split=None)
    res = s2.collect(limit=2)
    assert len(res.examples) == 2 and {ex.split for ex in res.examples} == {"test"}
    assert res.alternatives == {"nl2sh-alfa/test#0": ["wc -w < notes.txt"], "nl2sh-alfa/test#1": ["id -un"]}


def test_iter_text_corpus(fake_hub) -> None:
    texts = list(iter_text_corpus("westenfelder/NL2SH-ALFA", config="train", split="train", text_field="nl"))
    assert texts == [
        "list the contents of the home directory",
        "show the current date in ISO format",
        "print environment variables sorted by name",
    ]  # the empty one is skipped
    assert fake_hub[-1] == ("westenfelder/NL2SH-ALFA", "train", "train", True)
    with pytest.raises(DataError) as err:
        iter_text_corpus("westenfelder/NL2SH-ALFA", config="train", split="train", text_field="text")
    assert "no column 'text'" in str(err.value) and "available columns: nl, bash" in str(err.value)


# ---------------------------------------------------------------------------------------------
# column errors
# ---------------------------------------------------------------------------------------------


def test_missing_column_names_field_columns_and_fix(nl2bash_custom) -> None:
    renamed = nl2bash_custom.rename_column("nl_command", "text")
    with pytest.raises(DataError) as err:
        normalize_dataset(resolve_spec("AnishJoshi/nl2bash-custom"), renamed, "nl2bash-custom")
    msg = str(err.value)
    assert "'AnishJoshi/nl2bash-custom'" in msg
    assert "no column 'nl_command'" in msg and "instruction_field" in msg
    assert "available columns: srno, text, bash_code" in msg
    assert 'set instruction_field = "text"' in msg and "[[data.sources]]" in msg
    assert "\n" not in msg


def test_missing_category_column(linux_terminal) -> None:
    spec = resolve_spec("darkknight25/Linux_Terminal_Commands_Dataset", category_field="kind")
    with pytest.raises(
        DataError, match=r"no column 'kind' \(category_field\).*available columns: id, command"
    ):
        normalize_dataset(spec, linux_terminal, "ltc")


def test_generic_without_fields_lists_columns(fake_hub) -> None:
    with pytest.raises(DataError) as err:
        load_hub_source("someone/other-dataset", config=None, split=None)
    msg = str(err.value)
    assert "no built-in normalizer" in msg and "available columns: id, command, category, description" in msg
    assert 'instruction_field = "description"' in msg and 'command_field = "command"' in msg


# ---------------------------------------------------------------------------------------------
# load errors → one DataError line, never a traceback
# ---------------------------------------------------------------------------------------------


def _assert_offline_sentence(msg: str, hub_id: str) -> None:
    assert f"'{hub_id}'" in msg
    assert "not in the local cache (HF_HOME=" in msg and "the Hub cannot be reached" in msg
    assert 'kind = "file"' in msg and "datasets.load_dataset(" in msg
    assert "\n" not in msg and ". " not in msg.replace("e.g. ", "")  # one sentence


# huggingface_hub's retry loop backs off 1 s, 2 s, 4 s ... between tries: a wait this long means it ran
_RETRY_WAIT_S = 0.5


@pytest.fixture
def watch_network(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Record (and refuse) every socket connection, and every retry-length wait."""
    seen: dict[str, list] = {"connects": [], "waits": []}
    real_sleep = time.sleep

    def connect(self, address, *args):
        seen["connects"].append(address)
        raise OSError("network disabled by the test")

    def sleep(seconds: float) -> None:
        if seconds >= _RETRY_WAIT_S:
            seen["waits"].append(seconds)
        real_sleep(min(seconds, 0.01))

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(time, "sleep", sleep)
    return seen


def test_offline_env_fails_without_network_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, watch_network: dict[str, list]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_probe(*a, **k):  # offline mode must not even probe the network
        raise AssertionError("probed the Hub in offline mode")

    monkeypatch.setattr(hub_access, "hub_reachable", no_probe)
    import datasets.config as dconfig
    import huggingface_hub.constants as hconst

    flags_before = (hconst.HF_HUB_OFFLINE, dconfig.HF_HUB_OFFLINE)
    hub_id = "tuner-tests/definitely-not-cached-dataset"
    for load in (load_hub_source, stream_hub_source):
        with pytest.raises(DataError) as err:
            load(hub_id, config=None, split=None, instruction_field="a", command_field="b")
        assert err.type is DataError and err.value.hint == ""
        _assert_offline_sentence(str(err.value), hub_id)
        assert "offline mode is on" in str(err.value)
    with pytest.raises(DataError) as err:
        iter_text_corpus(hub_id, config="en")
    _assert_offline_sentence(str(err.value), hub_id)
    assert "(config 'en')" in str(err.value)
    # straight from the local cache: no connection attempted, no retry loop
    assert watch_network == {"connects": [], "waits": []}
    # the libraries' own flags are back as they were
    assert flags_before == (hconst.HF_HUB_OFFLINE, dconfig.HF_HUB_OFFLINE)


@pytest.mark.parametrize(
    ("exc_factory", "expect"),
    [
        (lambda: ConnectionError("Couldn't reach 'x/y' on the Hub (ConnectError)"), "the Hub cannot be reached"),
        (lambda: __import__("datasets").exceptions.DatasetNotFoundError("Dataset 'x/y' doesn't exist"), "not found on the Hub"),
        (lambda: ValueError("BuilderConfig 'zz' not found.\nAvailable: ['en']"), "could not be loaded: ValueError: BuilderConfig 'zz' not found."),
    ],
)  # fmt: skip
def test_online_failures_become_data_errors(
    monkeypatch: pytest.MonkeyPatch, exc_factory, expect: str
) -> None:
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hub_access, "_offline_requested", lambda: False)
    monkeypatch.setattr(hub_access, "hub_reachable", lambda *a, **k: True)

    def boom(*a, **k):
        raise exc_factory()

    monkeypatch.setattr(datasets, "load_dataset", boom)
    with pytest.raises(DataError) as err:
        load_hub_source("x/y", config=None, split=None, instruction_field="a", command_field="b")
    assert expect in str(err.value) and "\n" not in str(err.value)


# Prepended to the subprocess scripts: records connections (host, port) and retry-length waits.
_WATCH = f"""
    import socket, time
    connects, waits = [], []
    _connect, _sleep = socket.socket.connect, time.sleep
    def _watch_connect(self, address, *args):
        connects.append(list(address[:2]) if isinstance(address, tuple) else [str(address)])
        return _connect(self, address, *args)
    def _watch_sleep(seconds):
        if seconds >= {_RETRY_WAIT_S}:
            waits.append(seconds)
        _sleep(seconds)
    socket.socket.connect = _watch_connect
    time.sleep = _watch_sleep
"""


def _run_py(code: str, env_extra: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_OFFLINE"))}
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _last_json(proc: subprocess.CompletedProcess):
    return json.loads(proc.stdout.strip().splitlines()[-1])


_UNREACHABLE = textwrap.dedent(_WATCH) + textwrap.dedent("""
    import json
    from core.data import hub
    from core.errors import DataError
    out = []
    for call in (
        lambda: hub.load_hub_source("AnishJoshi/nl2bash-custom", config=None, split=None),
        lambda: hub.stream_hub_source("westenfelder/NL2SH-ALFA", config=None, split="test"),
        lambda: hub.iter_text_corpus("allenai/c4", config="en"),
    ):
        try:
            call()
            out.append({"ok": True})
        except DataError as e:
            out.append({"msg": str(e), "hint": e.hint})
    print(json.dumps({"results": out, "connects": connects, "waits": waits}))
""")


def test_unreachable_hub_default_env(tmp_path: Path) -> None:
    """The real path: no offline env, the network just isn't there. One probe decides; no retries."""
    if hub.hub_reachable(refresh=True):
        pytest.skip("the Hugging Face Hub is reachable from here; the unreachable path cannot be tested")
    proc = _run_py(_UNREACHABLE, {"HF_HOME": str(tmp_path / "hf")})
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = _last_json(proc)
    assert got["waits"] == [], got  # huggingface_hub's retry loop never ran
    hub_ids = ("AnishJoshi/nl2bash-custom", "westenfelder/NL2SH-ALFA", "allenai/c4")
    for res, hub_id in zip(got["results"], hub_ids, strict=True):
        assert "msg" in res, res
        _assert_offline_sentence(res["msg"], hub_id)
        assert res["hint"] == ""
        assert f"HF_HOME={tmp_path / 'hf'}" in res["msg"]
        assert "is unreachable" in res["msg"]


def test_silent_endpoint_is_probed_once_without_retries(tmp_path: Path) -> None:
    """An endpoint that accepts connections but never answers (a black-holed network): the
    probe's short timeout decides, instead of huggingface_hub's long retry loop."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)  # never accept(): connections hang
        port = server.getsockname()[1]
        proc = _run_py(
            _UNREACHABLE,
            {
                "HF_HOME": str(tmp_path / "hf"),
                "HF_ENDPOINT": f"http://127.0.0.1:{port}",
                "TUNER_HUB_PROBE_TIMEOUT": "2",
            },
        )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    got = _last_json(proc)
    assert [("msg" in r) for r in got["results"]] == [True, True, True], got
    assert "is unreachable" in got["results"][0]["msg"]
    # one connection to the endpoint (the probe, cached for the next two loads), no retry waits
    assert [c for c in got["connects"] if c == ["127.0.0.1", port]] == [["127.0.0.1", port]], got
    assert got["waits"] == [], got


_MAKE_FAKE_CACHE = """
    import os, shutil, sys
    from datasets.data_files import DataFilesDict
    from datasets.packaged_modules.csv.csv import Csv
    root = os.path.join(os.environ["HF_HOME"], "datasets")
    files = DataFilesDict.from_patterns({s: [sys.argv[1] + "/" + s + ".csv"] for s in ("train", "validation", "test")})
    b = Csv(cache_dir=root, dataset_name="nl2bash-custom", config_name="default", hash="0" * 16, data_files=files)
    b.download_and_prepare()
    (cfg_dir,) = os.listdir(os.path.join(root, "nl2bash-custom"))
    os.makedirs(os.path.join(root, "AnishJoshi___nl2bash-custom"))
    shutil.move(os.path.join(root, "nl2bash-custom", cfg_dir), os.path.join(root, "AnishJoshi___nl2bash-custom", "default"))
"""


def test_unreachable_hub_uses_local_cache(tmp_path: Path) -> None:
    """Unreachable Hub + a cached copy in HF_HOME → loaded from the cache, without retries."""
    if hub.hub_reachable(refresh=True):
        pytest.skip("the Hugging Face Hub is reachable from here; the unreachable path cannot be tested")
    env = {"HF_HOME": str(tmp_path / "hf")}
    env_all = {k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env
    made = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MAKE_FAKE_CACHE), str(FIX / "nl2bash-custom")],
        env=env_all, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"could not fake a datasets cache with this datasets version: {made.stderr[-300:]}")
    code = textwrap.dedent(_WATCH) + textwrap.dedent("""
        import json
        from core.data import hub
        r = hub.load_hub_source("AnishJoshi/nl2bash-custom", config=None, split=None)
        s = hub.stream_hub_source("AnishJoshi/nl2bash-custom", config=None, split=None).collect()
        print(json.dumps([r.splits, len(r.examples), len(r.rejected), s.splits, len(s.examples), waits]))
    """)
    proc = _run_py(code, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _last_json(proc) == [
        {"train": 6, "validation": 2, "test": 2}, 8, 2, {"train": 6, "validation": 2, "test": 2}, 8, [],
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# lazy import
# ---------------------------------------------------------------------------------------------


def test_import_is_light() -> None:
    """Importing the module loads none of the heavy libraries (they load when a dataset does)."""
    code = """
        import json, sys
        import core.data.hub
        heavy = ("datasets", "huggingface_hub", "torch", "pyarrow", "pandas", "httpx")
        print(json.dumps([m for m in heavy if m in sys.modules]))
    """
    proc = _run_py(code, {})
    assert proc.returncode == 0, proc.stderr
    assert _last_json(proc) == []
