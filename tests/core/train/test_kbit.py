"""QLoRA's unquantized weights stay in half precision: half the bytes of PEFT's fp32 upcast, the same training."""

from __future__ import annotations

import pytest
import torch


def _train(folder, upcast: bool) -> tuple[int, list[float], set]:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from core.models.build import _keep_cpu_4bit_trainable, prepare_kbit

    q = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
    )
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.bfloat16, quantization_config=q, device_map={"": "cpu"}
    )
    _keep_cpu_4bit_trainable(model)
    if upcast:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    else:
        prepare_kbit(model)
    torch.manual_seed(0)
    model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    )
    frozen = [p for p in model.parameters() if not p.requires_grad and type(p).__name__ != "Params4bit"]
    dtypes = {p.dtype for p in model.parameters() if p.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x = torch.randint(0, 1000, (4, 64), generator=torch.Generator().manual_seed(1))
    losses = []
    for _ in range(10):
        with torch.autocast("cpu", dtype=torch.bfloat16):  # what the Trainer's bf16 flag does
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return sum(p.numel() * p.element_size() for p in frozen), losses, dtypes


@pytest.mark.slow
def test_prepare_kbit_halves_the_unquantized_bytes_and_trains_the_same(tiny_llama):
    upcast_bytes, upcast_losses, _ = _train(tiny_llama, upcast=True)
    kept_bytes, kept_losses, trained = _train(tiny_llama, upcast=False)
    assert kept_bytes * 2 == upcast_bytes  # embeddings, lm_head, norms: bf16 instead of fp32
    assert trained == {torch.float32}, "the LoRA weights that train are fp32"
    assert upcast_losses[-1] < upcast_losses[0] and kept_losses[-1] < kept_losses[0]
    assert kept_losses == pytest.approx(upcast_losses, abs=2e-3)  # measured: max |Δ| 2e-4 over 20 steps
