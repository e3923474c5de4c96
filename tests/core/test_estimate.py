"""core.estimate: component arithmetic on published shapes, monotonicity, every shipped preset, no torch import."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from core import estimate as E
from core.config.loader import list_presets, load_preset
from core.config.schema import Preset

GB = 1e9
QWEN7B = "Qwen/Qwen2.5-Coder-7B-Instruct"


def preset(**sections) -> Preset:
    return Preset(name="t", **sections)


def qwen_qlora(**train) -> Preset:
    return preset(
        model={"id": QWEN7B, "device": "cuda", "dtype": "bfloat16"},
        quant={"bits": 4, "quant_type": "nf4", "double_quant": True},
        lora={"r": 8, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
        train={
            "optimizer": "adamw_bnb_8bit",
            "micro_batch_size": 1,
            "max_seq_len": 512,
            "max_tokens_per_batch": 512,
            "gradient_checkpointing": True,
            **train,
        },
    )


def test_published_parameter_counts():
    # config.json shapes → the parameter counts the model cards publish, exactly
    assert E.KNOWN["qwen/qwen2.5-coder-7b"].total_params() == 7_615_616_512
    assert E.KNOWN["qwen/qwen2.5-coder-0.5b"].total_params() == 494_032_768
    assert E.KNOWN["eleutherai/pythia-1.4b"].total_params() == 1_414_647_808
    assert E.KNOWN[E.EMBEDDED_MODEL].total_params() == 134_515_008


def test_lora_params_qwen7b_r8_qkvo_exact():
    arch = E.KNOWN["qwen/qwen2.5-coder-7b"]
    per_layer = 8 * (3584 + 3584) + 8 * (3584 + 512) + 8 * (3584 + 512) + 8 * (3584 + 3584)
    assert E.lora_params(arch, 8, ["q_proj", "k_proj", "v_proj", "o_proj"]) == 28 * per_layer == 5_046_272
    est = E.estimate(qwen_qlora())
    assert est.trainable_params == 5_046_272
    assert est.component("LoRA adapter") == 5_046_272 * 4  # peft keeps adapters in fp32
    assert est.component("gradients") == 5_046_272 * 4


def test_lora_target_names_per_architecture():
    neox = E.KNOWN["eleutherai/pythia-1.4b"]
    h, i = 2048, 8192
    expected = 24 * 16 * ((h + 3 * h) + (h + h) + (h + i) + (i + h))
    assert E.lora_params(neox, 16, ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]) == expected
    assert E.lora_params(neox, 16, "all-linear") == expected
    # "dense" must not also match dense_h_to_4h / dense_4h_to_h (PEFT matches whole name parts)
    assert E.lora_params(neox, 1, ["dense"]) == 24 * (h + h)
    hit, unknown = E.lora_targets(neox, ["q_proj", "dense"])
    assert unknown == ["q_proj"] and [lin.leaf for lin in hit] == ["dense"]
    est = E.estimate(preset(model={"id": "EleutherAI/pythia-1.4b"}, lora={"target_modules": ["q_proj"]}))
    assert est.warnings and "q_proj" in est.warnings[0]


def test_nf4_weights_of_the_7b_linear_layers():
    est = E.estimate(qwen_qlora())
    n_lin = E.KNOWN["qwen/qwen2.5-coder-7b"].linear_params()
    assert n_lin == 6_525_288_448
    nf4 = est.component("base Linear weights")
    const = est.component("quantization constants")
    assert nf4 == n_lin // 2
    # double quant: 8/64 + 32/(64·256) = 0.127 bits per parameter (QLoRA paper); without: 32/64 = 0.5
    assert const == pytest.approx(n_lin * 0.127 / 8, rel=0.01)
    assert (
        3.2 * GB < nf4 + const < 3.6 * GB
    )  # the "~3.5 GB 4-bit base" of the Training Specification, linears only
    no_dq = E.estimate(
        qwen_qlora().model_copy(update={"quant": preset(quant={"bits": 4, "double_quant": False}).quant})
    )
    assert no_dq.component("quantization constants") == pytest.approx(n_lin * 0.5 / 8, rel=0.01)
    # embeddings + lm_head (1.09B params) stay unquantized, in bf16 (tuner does not upcast them to fp32)
    assert est.component("embeddings, lm_head") == pytest.approx(1.09e9 * 2, rel=0.01)
    # what model.get_memory_footprint() reports for the 4-bit Qwen2.5-7B (~5.44 GB)
    assert nf4 + est.component("embeddings, lm_head") == pytest.approx(5.44 * GB, rel=0.01)


def test_qwen_qlora_with_token_bounded_batches_fits_24_gb():
    est = E.estimate(load_preset("qwen-qlora")[0])
    # micro-batches of up to 3,072 padded tokens (6 rows of 512 at worst) instead of the Training Specification's 1 × 512
    assert est.device == "cuda" and est.adapter == "qlora" and (est.rows, est.seq) == (6, 512)
    assert 10 * GB < est.total < 16 * GB, "fits a 24 GB GPU with room to spare"
    # fused fp32 AdamW on 5M LoRA params: 8-bit AdamW would save ~30 MB of it
    assert est.component("optimizer") == 5_046_272 * 8


def test_checkpointing_lowers_activations_and_batch_raises_them():
    base = dict(model={"id": E.EMBEDDED_MODEL, "device": "cpu"})
    off = E.estimate(preset(**base, train={"gradient_checkpointing": False}))
    on = E.estimate(preset(**base, train={"gradient_checkpointing": True}))
    assert on.component("activations") < off.component("activations") / 5
    assert on.total < off.total
    assert off.total_with_checkpointing(True) == pytest.approx(on.total, rel=1e-6)
    assert on.activations_full == off.activations_full
    small = E.estimate(
        preset(**base, train={"micro_batch_size": 2, "max_seq_len": 256, "max_tokens_per_batch": None})
    )
    big = E.estimate(
        preset(**base, train={"micro_batch_size": 8, "max_seq_len": 256, "max_tokens_per_batch": None})
    )
    assert big.tokens == 4 * small.tokens
    assert big.component("activations") == pytest.approx(4 * small.component("activations"), rel=0.01)
    assert big.component("logits") == 4 * small.component("logits")
    assert big.total > small.total
    assert big.component("base weights") == small.component("base weights")


def test_token_budget_bounds_the_micro_batch():
    q = load_preset("quickstart")[0]  # micro 8 × 256, but at most 1024 padded tokens
    est = E.estimate(q, device="cpu")
    assert (est.rows, est.seq) == (4, 256)
    packed = E.estimate(
        preset(
            train={
                "batching": "packing",
                "micro_batch_size": 4,
                "max_seq_len": 1024,
                "max_tokens_per_batch": 4096,
            }
        ),
        device="cpu",
    )
    assert (packed.rows, packed.seq) == (4, 1024)  # flattened, but each row attends within itself
    tight = E.estimate(
        preset(train={"micro_batch_size": 8, "max_seq_len": 512, "max_tokens_per_batch": 1024}), device="cpu"
    )
    assert tight.tokens == 1024


def test_logits_dominate_the_small_model():
    est = E.estimate(
        preset(
            model={"id": E.EMBEDDED_MODEL, "device": "cpu"},
            train={
                "micro_batch_size": 8,
                "max_seq_len": 256,
                "max_tokens_per_batch": None,
                "gradient_checkpointing": True,
            },
        )
    )
    assert est.component("logits") == 8 * 256 * 49152 * 12
    assert est.component("logits") > est.component("base weights")


def test_optimizer_states():
    base = dict(model={"id": E.EMBEDDED_MODEL, "device": "cpu"})
    n = E.estimate(preset(**base)).trainable_params
    assert E.estimate(preset(**base, train={"optimizer": "adamw_torch"})).component("optimizer") == 8 * n
    assert E.estimate(preset(**base, train={"optimizer": "sgd"})).component("optimizer") == 0
    assert E.estimate(preset(**base, train={"optimizer": "adamw_bnb_8bit"})).component(
        "optimizer"
    ) == pytest.approx(2 * n, rel=0.05)
    assert E.estimate(preset(**base, train={"optimizer": "adafactor"})).component("optimizer") < n
    # full fine-tuning in bf16: bf16 weights, gradients and AdamW states; no fp32 master copy in tuner
    full = E.estimate(
        preset(
            model={"id": E.EMBEDDED_MODEL, "device": "cuda", "dtype": "bfloat16"}, train={"adapter": "full"}
        )
    )
    p = full.total_params
    assert full.component("base weights") == 2 * p and full.component("gradients") == 2 * p
    assert full.component("optimizer") == 4 * p
    fp32 = E.estimate(preset(model={"id": E.EMBEDDED_MODEL, "device": "cpu"}, train={"adapter": "full"}))
    assert (
        fp32.component("base weights") + fp32.component("gradients") + fp32.component("optimizer") == 16 * p
    )


def test_every_shipped_preset_gives_an_estimate_or_a_reason():
    shipped = [pf for pf in list_presets() if pf.shipped]
    assert len(shipped) >= 5
    for pf in shipped:
        p, _ = load_preset(pf.path)
        out = E.estimate_or_reason(p)
        assert isinstance(out, E.Estimate) or (
            isinstance(out, str) and out.startswith("no memory estimate")
        ), pf.name
        if isinstance(out, E.Estimate):
            assert out.total > 0 and all(c.bytes >= 0 for c in out.components), pf.name


def test_scratch_shapes_match_the_configs_core_models_scratch_builds():
    from core.models.scratch import SIZES, scratch_config

    def shape(a: E.Arch) -> tuple:
        return (a.layers, a.hidden, a.heads, a.kv_heads, a.intermediate, a.vocab, a.tied, a.total_params())

    for arch_name in ("gpt2", "gpt_neox", "llama", "qwen2"):
        for size in SIZES:  # the one size table: the estimator reads it too
            built = E.arch_from_config(scratch_config(arch_name, size, 50304, 256).to_dict())
            assert shape(E.scratch_arch(arch_name, size, 50304, 256)) == shape(built), (arch_name, size)


def test_scratch_sizes_follow_the_size_table():
    for size, params in (("tiny", 137e6), ("medium", 371e6), ("large", 1092e6), ("xlarge", 1509e6)):
        arch = E.scratch_arch("gpt2", size, 50257, 1024)  # the MPS guide's counts include GPT-2's 50K vocab
        assert arch.total_params() == pytest.approx(params, rel=0.12), size
    est = E.estimate(load_preset("mps-scratch")[0])
    assert est.adapter == "full" and est.arch.vocab == 16384 and est.seq <= 512


def test_unknown_hub_model_gives_a_reason_not_an_exception(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    p = preset(model={"id": "someone/not-a-known-model"})
    assert E.estimate(p) is None
    reason = E.estimate_or_reason(p)
    assert isinstance(reason, str) and "\n" not in reason and "someone/not-a-known-model" in reason
    # … unless its config.json is in the local HF cache
    snap = tmp_path / "hub" / "models--someone--not-a-known-model" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(
        json.dumps(
            {
                "model_type": "llama",
                "hidden_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "intermediate_size": 128,
                "vocab_size": 1000,
            }
        )
    )
    assert E.estimate(p).arch.hidden == 64


def test_local_folder_reads_config_json(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "model_type": "qwen2",
                "hidden_size": 896,
                "num_hidden_layers": 24,
                "num_attention_heads": 14,
                "num_key_value_heads": 2,
                "intermediate_size": 4864,
                "vocab_size": 151936,
                "tie_word_embeddings": True,
            }
        )
    )
    est = E.estimate(preset(model={"id": str(tmp_path), "device": "cpu"}, quant={"bits": 4}))
    assert est.total_params == E.KNOWN["qwen/qwen2.5-coder-0.5b"].total_params()
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    assert "t5" in E.estimate_or_reason(preset(model={"id": str(tmp_path)}))
    assert "does not exist" in E.estimate_or_reason(preset(model={"id": str(tmp_path / "missing-sub")}))


def test_within_30_percent_of_measured_cpu_peaks():
    # Peak RSS of 3 LoRA steps (embedded SmolLM2-135M, r=16 on all 7 linears, fp32, AdamW, glibc
    # default allocator), measured as in docs/memory.md; this guards the formulas against drift.
    measured_gib = {
        (8, 64, False): 3.18,
        (8, 64, True): 1.93,
        (8, 256, False): 10.22,
        (8, 256, True): 4.15,
        (4, 256, False): 5.56,
    }
    for (b, s, gc), peak in measured_gib.items():
        est = E.estimate(
            preset(
                model={"id": E.EMBEDDED_MODEL, "device": "cpu"},
                lora={"r": 16, "alpha": 32, "target_modules": "all-linear"},
                train={
                    "micro_batch_size": b,
                    "max_seq_len": s,
                    "max_tokens_per_batch": None,
                    "gradient_checkpointing": gc,
                },
            )
        )
        assert est.total / E.GiB == pytest.approx(peak, rel=0.3), (b, s, gc)


def test_render_estimate_prints_table_total_and_device():
    from rich.console import Console

    con = Console(file=io.StringIO(), width=140, record=True)
    E.render_estimate(con, load_preset("quickstart")[0])
    out = con.export_text()
    assert "memory estimate" in out and "total" in out and "activations" in out and "logits" in out
    assert "this machine:" in out
    con = Console(file=io.StringIO(), width=140, record=True)
    E.render_estimate(con, preset(model={"id": "someone/not-a-known-model-xyz"}))
    assert "no memory estimate" in con.export_text()


def test_detected_memory_and_fit_verdict():
    name, mem = E.detected_memory()
    assert isinstance(name, str) and name and mem > 0
    # one rule for the CLI and the TUI: up to 85% fits, up to 100% is tight, more does not fit
    assert E.fit_verdict(1, 100) == ("green", "fits (1% of 0.0 GiB)")
    assert E.fit_verdict(85, 100)[1].startswith("fits")
    assert E.fit_verdict(86, 100)[1].startswith("tight")
    assert E.fit_verdict(100, 100)[0] == "yellow"
    assert E.fit_verdict(101, 100)[1].startswith("does not fit")
    assert E.fit_verdict(1, 0)[0] == "red"


def test_import_pulls_no_torch():
    code = (
        "import sys, core.estimate as e; from core.config.schema import Preset; "
        "e.estimate(Preset(name='x')); e.detected_memory(); "
        "e.estimate(Preset(name='s', model={'id': 'scratch', 'scratch': {'architecture': 'llama'}}, "
        "train={'adapter': 'full'})); "
        "bad = [m for m in ('torch', 'transformers', 'peft', 'bitsandbytes') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
