"""The export's parts on real inputs: stop tokens, the proof's checks, RAM refusal, cached hashes, staging."""

from __future__ import annotations

import json
import os

import pytest

from core.errors import TunerError

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


# ---------------------------------------------------------------------------------- stop tokens


def test_stop_tokens_follow_what_training_appended(smol_tokenizer):
    import copy

    from core.export.stop_tokens import apply_stop_tokens, trained_stop_ids

    im_end = smol_tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert trained_stop_ids(smol_tokenizer, "chat")[0] == im_end
    assert trained_stop_ids(smol_tokenizer, "instruction") == [smol_tokenizer.eos_token_id]

    # A base whose EOS is not the template's end of turn (Qwen2.5 base models): the export stops at
    # <|im_end|> (what the answers ended with in training) and still knows the old EOS.
    tok = copy.deepcopy(smol_tokenizer)
    tok.eos_token = "<|endoftext|>"
    stop = trained_stop_ids(tok, "chat")
    assert stop == [im_end, tok.convert_tokens_to_ids("<|endoftext|>")]
    assert apply_stop_tokens(tok, stop) == "<|endoftext|>"
    assert tok.eos_token == "<|im_end|>"
    assert apply_stop_tokens(tok, stop) is None  # already right: unchanged


# ---------------------------------------------------------------------------------- the proof


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_run):
    """An unverified merged export of a copy of the tiny run, plus the run's reference outputs."""
    from core.cli import main
    from core.data.formatting import resolve_style
    from core.export.merge import load_run_model
    from core.export.source import export_source, load_tokenizer
    from core.export.verify import reference_outputs

    run_dir = tiny_run.copy(tmp_path_factory.mktemp("proof"))
    assert main(["export", str(run_dir), "--no-verify"]) == 0
    source = export_source(str(run_dir))
    tok = load_tokenizer(source)
    style = resolve_style(tok)
    import torch

    ref = reference_outputs(
        load_run_model(source, torch.float32).eval(), tok, style, None, ["list files", "show disk usage"], 6
    )
    return run_dir / "exports" / "merged", ref, style


def test_the_proof_catches_changed_weights(exported):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.export.verify import compare

    folder, ref, style = exported
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    kw = dict(style=style, system_prompt=None, max_new_tokens=6, dtype="float32")
    assert compare(model, tok, ref, **kw).ok
    with torch.no_grad():
        model.model.layers[0].self_attn.q_proj.weight.add_(0.05)
    result = compare(model, tok, ref, **kw)
    assert not result.ok and "logits differ" in result.problem and result.max_abs_logit_diff > 1e-3


def test_the_proof_catches_a_lost_chat_template(exported, tmp_path):
    import shutil

    from core.export.verify import verify_folder

    folder, ref, style = exported
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((broken / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (broken / "tokenizer_config.json").write_text(json.dumps(cfg))
    result = verify_folder(
        broken,
        ref,
        prompt_format="auto",
        run_style=style,
        system_prompt=None,
        max_new_tokens=6,
        dtype="float32",
    )
    assert not result.ok and "chat template lost" in result.problem


def test_divergence_margin_reads_the_runs_logits_at_the_first_different_token(smol_tokenizer):
    import torch

    from core.data.formatting import prompt_text
    from core.export.verify import Reference, _divergence_margin

    prompt = prompt_text(smol_tokenizer, "list files", "chat")
    text = prompt + "ls -la"
    ids = smol_tokenizer(text, add_special_tokens=False)["input_ids"]
    other = smol_tokenizer(prompt + "ls -l", add_special_tokens=False)["input_ids"]
    pos = next(k for k, (a, b) in enumerate(zip(ids, other, strict=False)) if a != b)
    logits = torch.zeros(len(ids), len(smol_tokenizer))
    logits[pos - 1, ids[pos]] = 3.0
    logits[pos - 1, other[pos]] = 2.5
    ref = Reference(["list files"], ["ls -la"], [text], [logits])
    assert _divergence_margin(smol_tokenizer, ref, 0, "ls -l", "chat", None) == pytest.approx(0.5)


# ---------------------------------------------------------------------------------- resources


def test_merge_ram_refusal_names_the_figures():
    from core.estimate.shapes import KNOWN
    from core.export.resources import check_merge_ram, merge_ram_needed
    from core.units import GiB

    seven = KNOWN["qwen/qwen2.5-7b"].total_params()
    need = merge_ram_needed(seven, "bfloat16")
    assert 14 * GiB < need < 40 * GiB
    check_merge_ram(seven, "bfloat16", need)  # exactly enough: no refusal
    with pytest.raises(TunerError) as e:
        check_merge_ram(seven, "bfloat16", 8 * GiB)
    assert "7.6 B-parameter" in e.value.message and "8.0 GiB available" in e.value.message
    assert "--format adapter" in e.value.hint


def test_disk_full_is_recognised_in_safetensors_wording(tmp_path):
    import errno

    from core.export.resources import disk_full_error

    assert disk_full_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path) is not None
    wrapped = RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")
    assert "disk full" in disk_full_error(wrapped, tmp_path).message
    assert disk_full_error(OSError(errno.EACCES, "denied"), tmp_path) is None


# ---------------------------------------------------------------------------------- hashes, staging


def test_file_hashes_are_cached_by_size_and_mtime(tmp_path, monkeypatch):
    import hashlib

    from core.export.hashing import cached_sha256, folder_sha256

    monkeypatch.setenv("TUNER_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "model" / "model.safetensors"
    f.parent.mkdir()
    f.write_bytes(b"a" * 100)
    assert cached_sha256(f) == hashlib.sha256(b"a" * 100).hexdigest()
    st = f.stat()
    f.write_bytes(b"b" * 100)  # same size, same mtime: the memo answers without reading
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cached_sha256(f) == hashlib.sha256(b"a" * 100).hexdigest()
    f.write_bytes(b"b" * 101)  # changed size: hashed again
    assert cached_sha256(f) == hashlib.sha256(b"b" * 101).hexdigest()
    assert folder_sha256(f.parent) is not None and folder_sha256(tmp_path / "cache") is None


def test_publish_replaces_an_export_only_when_the_new_one_is_whole(tmp_path):
    from core.export.target import publish, staging_dir

    target = tmp_path / "exports" / "merged"
    first = staging_dir(target)
    (first / "manifest.json").write_text("{}")
    publish(first, target)
    second = staging_dir(target)
    (second / "manifest.json").write_text('{"n": 2}')
    (second / "model.safetensors").write_text("x")
    publish(second, target)
    assert json.loads((target / "manifest.json").read_text()) == {"n": 2}
    assert sorted(p.name for p in target.parent.iterdir()) == ["merged"]
