"""core.secrets: scrubbing secret values from text, and which names are secrets."""

from __future__ import annotations

from core.secrets import is_secret_name, scrub

WANDB = "wandb-fake-secret-0123456789"
HF = "hf_fakeSecretToken987654321"


def test_scrub(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", WANDB)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", HF)
    monkeypatch.setenv("MY_DB_PASSWORD", "correct-horse-battery")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to scrub safely
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-but-long")  # not a secret name
    text = f"key={WANDB} tok={HF} pw=correct-horse-battery abc false-but-long"
    assert scrub(text) == "key=*** tok=*** pw=*** abc false-but-long"
    assert is_secret_name("log.wandb_key") and is_secret_name("HF_TOKEN")
    assert not is_secret_name("max_tokens_per_batch") and not is_secret_name("tokenizer")
