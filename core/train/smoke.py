"""`tuner run PRESET --smoke`: the preset's own code path for ~10 steps on a tiny model of its family.

Kept from the preset: quantization, adapter and LoRA targets, optimizer, batching, dtype,
gradient checkpointing, task. Changed, so it runs offline on a CPU in seconds: batches (at most
4 rows × 2 accumulation, 128 tokens), and the model is a
random-initialized tiny model of the same family (Qwen2 / GPT-NeoX / Llama / GPT-2) saved to disk
and loaded through the same loader; Hub data sources become the bundled set; steps, evaluation
and sample sizes shrink. The tokenizer is the embedded SmolLM2 one (the real one needs the Hub).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from core.config.schema import DeviceName, Preset, SourceCfg, SplitCfg

FAMILIES = {  # substring of the model id → transformers model_type
    "qwen": "qwen2",
    "pythia": "gpt_neox",
    "gpt-neox": "gpt_neox",
    "neox": "gpt_neox",
    "llama": "llama",
    "smollm": "llama",
    "gpt2": "gpt2",
    "mistral": "mistral",
}


def model_family(preset: Preset) -> str:
    """The transformers model_type the preset's model belongs to (llama when unknown)."""
    if preset.model.scratch is not None:
        return preset.model.scratch.architecture
    mid = preset.model.id.lower()
    return next((fam for key, fam in FAMILIES.items() if key in mid), "llama")


def tiny_model_dir(family: str) -> Path:
    """A saved random-initialized tiny model of the family (built once, then cached)."""
    from core.models.embedded import cache_root

    folder = cache_root() / "smoke" / family
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from core.models.embedded import converted_dir

    tok = AutoTokenizer.from_pretrained(converted_dir())
    # hidden 64: bitsandbytes' CPU 4-bit kernels need dimensions that are multiples of its blocksize
    if family == "gpt2":
        cfg = AutoConfig.for_model(
            "gpt2", n_embd=64, n_layer=2, n_head=2, n_positions=512, vocab_size=len(tok)
        )
    elif family == "gpt_neox":
        cfg = AutoConfig.for_model(
            "gpt_neox",
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=256,
            max_position_embeddings=512,
            vocab_size=len(tok),
        )
    else:
        cfg = AutoConfig.for_model(
            family,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=512,
            vocab_size=len(tok),
            tie_word_embeddings=family != "qwen2",
        )
    cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id = (
        tok.bos_token_id,
        tok.eos_token_id,
        tok.pad_token_id,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg)
    tmp = folder.with_name(folder.name + ".tmp")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(folder)
    return folder


def smoke_preset(preset: Preset, device_available: str = "cpu") -> Preset:
    """The preset, shrunk to a ~10-step offline run on a tiny model of its family."""
    p = preset.model_copy(deep=True)
    p.name = f"{preset.name}-smoke"
    if p.model.scratch is not None:
        p.model.scratch.size = "micro"
        p.model.scratch.vocab_size = min(p.model.scratch.vocab_size, 2048)
    else:
        p.model.id = str(tiny_model_dir(model_family(preset)))
    # The preset's own device when this machine has it (a smoke on a GPU box exercises CUDA), else the CPU.
    here = cast(DeviceName, device_available)  # what select_device() returned: a device name
    p.model.device = here if p.model.device in ("auto", here) else "cpu"
    augment = any(s.augment for s in preset.data.sources)
    # Offline and self-contained: Hub data, or a local file this machine does not have (nl2bash's corpus),
    # becomes the bundled pairs; the code path is the same.
    if any(
        s.kind == "hub" or (s.kind == "file" and not Path(s.path or "").expanduser().exists())
        for s in preset.data.sources
    ):
        p.data.sources = [SourceCfg(kind="bundled", augment=augment)]
    if augment and not (p.data.augment.multiplier or p.data.augment.target_size):
        p.data.augment.multiplier = 2.0
    p.data.split = SplitCfg(train=0.8, val=0.1, test=0.1)
    t = p.train
    t.max_steps, t.save_every, t.save_limit, t.time_budget = 10, 5, 2, None
    t.max_seq_len = min(t.max_seq_len, 128)
    # Smaller batches than the preset's: the code path is the same, and a tiny model with a
    # 49K vocabulary spends its time on logits (rows × length × vocab).
    t.micro_batch_size, t.grad_accum = min(t.micro_batch_size, 4), min(t.grad_accum, 2)
    t.steps_per_epoch = None
    if t.max_tokens_per_batch:
        t.max_tokens_per_batch = max(t.max_tokens_per_batch, t.max_seq_len)
    e = p.eval
    e.every, e.sample_every, e.max_val_rows, e.exact_match_rows, e.max_new_tokens = 5, 5, 16, 4, 8
    e.sample_prompts = e.sample_prompts[:1]
    e.exec_rows = min(e.exec_rows, 4)
    p.log.every, p.log.wandb_project = 1, None
    return p
