"""`tuner run --sweep`: grid parsing and validation, the record, resume decisions, the summary, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core import sweep
from core.cli import main
from core.errors import EXIT_FAILED, EXIT_INTERRUPTED, TunerError
from core.events import Eval, EventWriter, Failed, Finished
from core.runs import EVENTS_FILE, PROVENANCE_FILE, create_run_dir
from core.train.run import RunOutcome
from tests.core.run_support import started
from tests.core.train import conftest as train_fixtures

tiny_llama = train_fixtures.tiny_llama  # the end-to-end test trains the tiny model the train tests use
tiny_preset = train_fixtures.tiny_preset


@pytest.fixture
def preset_file(tmp_path, monkeypatch) -> Path:
    """A CPU preset for planning only (nothing loads it): runs go to tmp_path/runs."""
    monkeypatch.setenv("TUNER_RUNS_DIR", str(tmp_path / "runs"))
    path = tmp_path / "p.toml"
    path.write_text('name = "p"\n[model]\ndevice = "cpu"\n')
    return path


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("1e-4,2e-4", ["1e-4", "2e-4"]),
        (" 8 , 16 ", ["8", "16"]),
        ('["q_proj","v_proj"],["o_proj"]', ['["q_proj","v_proj"]', '["o_proj"]']),
        ('"a,b",c', ['"a,b"', "c"]),
        ("{ r = 8, alpha = 16 },x", ["{ r = 8, alpha = 16 }", "x"]),
    ],
)
def test_split_values_keeps_commas_inside_lists_and_strings(text, parts):
    assert sweep.split_values(text) == parts


def test_values_are_parsed_like_set():
    axis = sweep.parse_axis("train.lr=1e-4, 2e-4")
    assert axis.key == "train.lr" and axis.raws == ("1e-4", "2e-4") and axis.values == (1e-4, 2e-4)
    assert sweep.parse_axis("data.prompt_format=chatml,alpaca").values == ("chatml", "alpaca")
    assert sweep.parse_axis('lora.target_modules=["q_proj"],["q_proj","v_proj"]').values == (
        ["q_proj"],
        ["q_proj", "v_proj"],
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sweep", "train.lr"], "--sweep 'train.lr': expected key=v1,v2"),
        (["--sweep", "train.lr="], "--sweep 'train.lr=': no values"),
        (["--sweep", "train.lr=1e-4,"], "an empty value"),
        (["--sweep", "train.lr=1e-4,0.0001"], "'0.0001' repeats '1e-4'"),
        (["--sweep", "train.lr=1e-4", "--sweep", "train.lr=2e-4"], "--sweep train.lr is given twice"),
        (
            ["--sweep", "train.lr=1e-4", "--set", "train.lr=1e-3"],
            "train.lr is given by both --set and --sweep",
        ),
        (["--sweep", "train.lrr=1,2"], "unknown key 'train.lrr' — did you mean 'lr'?"),
        (["--sweep", "log.run_name=a,b"], "--sweep log.run_name"),
        (["--sweep", "train.lr=1e-4", "--seeds", "1,2"], "--sweep and --seeds cannot be combined"),
        (["--sweep", "train.lr=1e-4", "--resume", "latest"], "--sweep and --resume cannot be combined"),
        (["--sweep", "train.lr=1e-4", "--then", "other"], "--sweep and --then cannot be combined"),
    ],
)
def test_a_bad_grid_is_one_line_before_anything_runs(preset_file, tmp_path, capsys, argv, message):
    preset = [] if "--resume" in argv else [str(preset_file)]
    assert main(["run", *preset, *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "runs").exists()


def test_a_bad_value_gives_the_error_set_gives(preset_file, tmp_path, capsys):
    assert main(["run", str(preset_file), "--set", "train.lr=abc"]) == 2
    by_set = capsys.readouterr().err
    assert main(["run", str(preset_file), "--sweep", "train.lr=1e-4,abc"]) == 2
    assert capsys.readouterr().err == by_set and "'train.lr' = 'abc'" in by_set
    assert not (tmp_path / "runs").exists()


def test_every_point_validates_before_the_first_runs(preset_file, tmp_path, capsys):
    """Only the (full, 4-bit) corner of the grid is invalid: refused up front, nothing created."""
    argv = ["run", str(preset_file), "--sweep", "train.adapter=lora,full", "--sweep", "quant.bits=0,4"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "quant.bits needs train.adapter" in err[0]
    assert not (tmp_path / "runs").exists()


def test_grid_is_the_product_with_labels_and_file_name_slugs():
    axes = sweep.parse_axes(["train.lr=1e-4,2e-4", "lora.r=8,16"], [])
    points = sweep.grid(axes)
    assert [p.label for p in points] == ["lr=1e-4,r=8", "lr=1e-4,r=16", "lr=2e-4,r=8", "lr=2e-4,r=16"]
    assert points[1].slug == "lr_1e-4-r_16" and points[1].overrides == ["train.lr=1e-4", "lora.r=16"]
    assert sweep.short_keys(["lora.dropout", "train.dropout", "lora.r"]) == {
        "lora.dropout": "lora.dropout",  # two "dropout"s: each keeps its section
        "train.dropout": "train.dropout",
        "lora.r": "r",
    }
    (odd,) = sweep.grid(sweep.parse_axes(['lora.target_modules=["q_proj","v_proj"]'], []))
    assert odd.slug == "target_modules_q_proj_v_proj"
    (long,) = sweep.grid(sweep.parse_axes([f"data.system_prompt={'x' * 200}"], []))
    assert len(long.slug) == 60


def test_the_same_command_is_the_same_sweep(preset_file):
    a = sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4,2e-4"])
    assert sweep.plan_sweep(str(preset_file.resolve()), [], ["train.lr=0.0001, 2e-4"]).id == a.id
    assert a.id.startswith("p-")
    others = [
        sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4,3e-4"]),
        sweep.plan_sweep(str(preset_file), ["lora.r=4"], ["train.lr=1e-4,2e-4"]),
        sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4,2e-4"], max_steps=4),
    ]
    assert len({a.id, *(o.id for o in others)}) == 4
    assert a.overrides(a.points[0])[-1] == 'log.run_name="p-lr_1e-4"'


@pytest.mark.parametrize(
    ("status", "step", "action"),
    [
        (None, None, "start"),
        ("finished", 4, "skip"),
        ("running", 2, "busy"),
        ("interrupted", 3, "resume"),
        ("interrupted", None, "start"),  # killed before its first checkpoint
        ("failed", 3, "start"),  # a failed point is tried afresh
        ("unknown", None, "start"),
    ],
)
def test_decide(status, step, action):
    assert sweep.decide(status, step) == action


class FakeTrainer:
    """Stands in for run_training: writes a run directory with the events a run of that ending writes."""

    def __init__(self, root: Path, endings: dict[str, str]):
        self.root, self.endings, self.calls = root, endings, []

    def __call__(self, overrides, resume, hook):
        self.calls.append((overrides, resume))
        name = next((o.split('"')[1] for o in overrides if o.startswith("log.run_name=")), None)
        key = re.sub(r"-\d{8}-\d{6}(-\d+)?$", "", resume.name) if resume else name
        ending = self.endings.get(key, "finished")
        if ending == "refused":
            raise TunerError("refused before a run directory", kind="config")
        run_dir = resume or create_run_dir(sweep_preset(), self.root, name=name)
        (run_dir / PROVENANCE_FILE).write_text(json.dumps({"pid": 1, "extra": {"stage": "loading"}}))
        lr = float(next((o for o in overrides if o.startswith("train.lr=")), "train.lr=1e-4").split("=")[1])
        rec = {"type": "run_started", "run_dir": str(run_dir), "run": run_dir.name}
        with EventWriter(run_dir / EVENTS_FILE) as w:
            w.write(started(run_dir, pid=1, max_steps=4))
            hook(rec)
            loss = 1.0 - lr * 1000
            if ending == "interrupted":
                (run_dir / "checkpoints" / "checkpoint-3").mkdir(parents=True)
                (run_dir / "checkpoints" / "checkpoint-3" / "COMPLETE").write_text("3")
                w.write(Finished(status="interrupted", step=3, adapter_dir="", reason="signal", elapsed_s=1))
                return RunOutcome(run_dir, "interrupted", EXIT_INTERRUPTED)
            ev = Eval(step=4, val_loss=loss, perplexity=None, exact_match=0.5, exact_match_rows=4)
            w.write(ev)
            if ending == "failed":
                w.write(Failed(step=4, kind="oom", message="out of memory", hint="lower the batch"))
                return RunOutcome(run_dir, "failed", EXIT_FAILED, "out of memory (lower the batch)")
            w.write(Finished(status="finished", step=4, adapter_dir="", best_val_loss=loss, elapsed_s=1))
        if ending == "exec":  # what eval events carry once exec_accuracy is added: read with .get
            with open(run_dir / EVENTS_FILE, "a") as f:
                line = {"v": 1, "type": "eval", "time": 1.0, "step": 4, "val_loss": loss, "perplexity": None}
                f.write(json.dumps({**line, "exec_accuracy": 0.75, "exec_rows": 8}) + "\n")
        return RunOutcome(run_dir, "finished", 0)


def sweep_preset():
    from core.config.schema import Preset

    return Preset(name="p")


def test_a_failed_point_is_recorded_and_the_sweep_goes_on(preset_file, tmp_path, capsys):
    root = tmp_path / "runs"
    plan = sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4,2e-4,3e-4"])
    fake = FakeTrainer(root, {"p-lr_1e-4": "failed", "p-lr_2e-4": "refused", "p-lr_3e-4": "exec"})
    assert sweep.run_plan(plan, fake, root, _console()) == EXIT_FAILED
    record = json.loads((root / "sweeps" / f"{plan.id}.json").read_text())
    assert [p["status"] for p in record["points"]] == ["failed", "failed", "finished"]
    assert record["points"][0]["error"] == "out of memory (lower the batch)"
    assert record["points"][1]["run"] is None and record["status"] == "failed"
    assert record["points"][2]["metrics"]["exec_accuracy"] == 0.75
    out = capsys.readouterr().out
    assert "error: refused before a run directory" in out and "exec" in out
    assert "best exec accuracy: lr=3e-4 (75.0%" in out


def test_stop_then_the_same_command_skips_resumes_and_starts(preset_file, tmp_path, capsys):
    root = tmp_path / "runs"
    plan = sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4,2e-4,3e-4", "lora.r=8"])
    endings = {"p-lr_1e-4-r_8": "failed", "p-lr_2e-4-r_8": "interrupted"}
    assert sweep.run_plan(plan, FakeTrainer(root, endings), root, _console()) == EXIT_INTERRUPTED
    record = json.loads((root / "sweeps" / f"{plan.id}.json").read_text())
    assert [p["status"] for p in record["points"]] == ["failed", "interrupted", "pending"]
    stopped = record["points"][1]["run"]
    assert json.loads((root / stopped / "sweep.json").read_text())["values"] == {
        "train.lr": "2e-4",
        "lora.r": "8",
    }
    prov = json.loads((root / stopped / PROVENANCE_FILE).read_text())
    assert prov["extra"]["sweep"]["id"] == plan.id and prov["extra"]["stage"] == "loading"
    out = capsys.readouterr().out
    assert "sweep stopped: the same command continues it" in out

    again = sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4,2e-4,3e-4", "lora.r=8"])
    fake = FakeTrainer(root, {})
    assert sweep.run_plan(again, fake, root, _console()) == 0
    out = capsys.readouterr().out
    assert f"point 1/3 lr=1e-4,r=8: started (again: {record['points'][0]['run']} failed)" in out
    assert f"point 2/3 lr=2e-4,r=8: resumed from step 3 ({stopped})" in out
    assert "point 3/3 lr=3e-4,r=8: started" in out
    assert fake.calls[1] == ([], root / stopped)  # a resume uses the run's own preset.toml
    first_attempt = record["points"][0]["run"]
    record = json.loads((root / "sweeps" / f"{plan.id}.json").read_text())
    assert [p["status"] for p in record["points"]] == ["finished"] * 3 and record["status"] == "finished"
    assert record["points"][0]["earlier_runs"] == [first_attempt] != [record["points"][0]["run"]]
    assert "★ best val loss: lr=3e-4" in out and "varied train.lr (1e-4, 2e-4, 3e-4): 3 runs" in out
    assert "the same in all: lora.r=8" in out

    assert sweep.run_plan(again, fake, root, _console()) == 0  # all done: every point skipped
    assert capsys.readouterr().out.count(": skipped, finished") == 3 and len(fake.calls) == 3
    assert main(["runs", "--sweep", "latest", "--runs-dir", str(root)]) == 0
    shown = capsys.readouterr().out
    assert f"sweep {plan.id}: 3 of 3 points finished" in shown and "0.7000 ★" in shown
    assert main(["runs", "--sweep", "nope", "--runs-dir", str(root)]) == 2
    assert "no sweep 'nope'" in capsys.readouterr().err


def test_one_process_per_sweep(preset_file, tmp_path):
    root = tmp_path / "runs"
    plan = sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4"])
    with (
        sweep._running(root / "sweeps" / f"{plan.id}.json"),
        pytest.raises(TunerError, match="already running"),
    ):
        sweep.run_plan(plan, FakeTrainer(root, {}), root, _console())


def test_sigterm_between_runs_stops_the_sweep_like_ctrl_c(preset_file, tmp_path, capsys):
    """Outside a run (the trainer has its own handler) SIGTERM raises KeyboardInterrupt: the record stays whole."""
    import os
    import signal

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sweep._running(None):
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before

    root = tmp_path / "runs"
    plan = sweep.plan_sweep(str(preset_file), [], ["train.lr=1e-4,2e-4"])
    fake = FakeTrainer(root, {})

    def stopped_after_one(overrides, resume, hook):
        if fake.calls:
            raise KeyboardInterrupt
        return fake(overrides, resume, hook)

    assert sweep.run_plan(plan, stopped_after_one, root, _console()) == EXIT_INTERRUPTED
    record = json.loads((root / "sweeps" / f"{plan.id}.json").read_text())
    assert [p["status"] for p in record["points"]] == ["finished", "pending"]
    assert record["status"] == "interrupted" and "the same command continues it" in capsys.readouterr().out


def test_seeds_share_the_loop_without_a_record(preset_file, tmp_path, capsys):
    root = tmp_path / "runs"
    plan = sweep.plan_seeds(str(preset_file), [], [1, 2])
    assert [p.slug for p in plan.points] == ["seed1", "seed2"] and plan.id is None
    fake = FakeTrainer(root, {"p-seed1": "failed"})
    assert sweep.run_plan(plan, fake, root, _console()) == EXIT_FAILED
    assert len(fake.calls) == 1, "--seeds stops at its first failure"
    assert not (root / "sweeps").exists()
    assert "p: 0 of 2 seeds finished" in capsys.readouterr().out


def _console():
    from core.cli_common import console

    return console()


@pytest.mark.slow
def test_a_sweep_end_to_end_then_the_same_command_skips(tiny_preset, tmp_path, capsys):
    """Two points of the tiny model through the real CLI; the same command again runs nothing."""
    argv = ["run", str(tiny_preset()), "--sweep", "train.lr=1e-3,2e-3", "--max-steps", "2"]
    assert main(argv) == 0
    runs = sorted(p for p in (tmp_path / "runs").iterdir() if p.name != "sweeps")
    assert [r.name.rsplit("-2", 1)[0][: len("tiny-lr_1e-3")] for r in runs] == [
        "tiny-lr_1e-3",
        "tiny-lr_2e-3",
    ]
    (record_file,) = (tmp_path / "runs" / "sweeps").glob("*.json")
    record = json.loads(record_file.read_text())
    assert [p["status"] for p in record["points"]] == ["finished", "finished"]
    assert [p["metrics"]["step"] for p in record["points"]] == [2, 2]
    for run in runs:
        assert json.loads((run / PROVENANCE_FILE).read_text())["extra"]["sweep"]["id"] == record["id"]
    assert "lr = 0.002" in (runs[1] / "preset.toml").read_text()
    out = capsys.readouterr().out
    assert "2 of 2 points finished" in out and "★ best val loss" in out

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count(": skipped, finished") == 2 and "run directory:" not in out
    assert sorted(p for p in (tmp_path / "runs").iterdir() if p.name != "sweeps") == runs
