"""How closely llama.cpp running a GGUF follows the transformers model it came from.

Both get the same token ids (the HF tokenizer's prompt). The reference is the HF model's greedy
answer; for each answer we count (a) the positions where llama.cpp's top token, fed the reference's
answer so far (teacher forcing, so one early difference does not count twice), is the reference's
token, and (b) whether llama.cpp's own greedy completion is the same text. Needs llama-cpp-python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Agreement:
    """Token agreement of one GGUF with the reference over a set of prompts."""

    label: str
    prompts: int = 0
    tokens: int = 0
    agreeing: int = 0
    same_answers: int = 0
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (reference, llama.cpp) answers
    # For each position where llama.cpp ranks another token first: how far below the reference's own pick the
    # reference model ranks that token (its logit gap); small gaps are near-ties, not conversion errors.
    flip_margins: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Share of reference answer tokens llama.cpp also ranks first."""
        return self.agreeing / self.tokens if self.tokens else 0.0

    def summary(self) -> str:
        """One line: the agreement figures."""
        return (
            f"{self.label}: token agreement {self.rate:.1%} ({self.agreeing}/{self.tokens}), "
            f"same greedy answer {self.same_answers}/{self.prompts}"
        )


def hf_greedy(model: Any, tokenizer: Any, prompt_ids: list[int], max_new_tokens: int) -> list[int]:
    """The HF model's greedy answer ids (its EOS included when it stops)."""
    import torch

    ids = torch.tensor([prompt_ids])
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    return [int(t) for t in out[0, len(prompt_ids) :]]


def load_gguf(path: Path, n_ctx: int = 512) -> Any:
    """llama.cpp's Llama over `path`, keeping every position's logits (for teacher forcing)."""
    from llama_cpp import Llama

    return Llama(str(path), n_ctx=n_ctx, logits_all=True, verbose=False, seed=0)


def compare(
    llm: Any,
    tokenizer: Any,
    cases: list[tuple[list[int], list[int]]],
    label: str,
    max_new_tokens: int,
    reference_logits: list[Any] | None = None,
) -> Agreement:
    """Agreement of `llm` with the reference over (prompt ids, reference answer ids) pairs.

    `reference_logits[k]` (answer positions × vocab, the reference model teacher-forced on case k) adds the
    reference's logit gap at each position where llama.cpp picks another token (`flip_margins`).
    """
    import numpy as np

    result = Agreement(label)
    for k, (prompt, answer) in enumerate(cases):
        llm.reset()
        llm.eval(prompt + answer)
        n = len(prompt)
        # scores[i] predicts token i + 1: the rows from the prompt's last token on predict the answer.
        top = np.argmax(llm.scores[n - 1 : n - 1 + len(answer)], axis=-1)
        result.tokens += len(answer)
        result.agreeing += int(sum(int(a) == int(b) for a, b in zip(top, answer, strict=True)))
        if reference_logits is not None:
            ref = reference_logits[k]
            for i, (a, b) in enumerate(zip(top, answer, strict=True)):
                if int(a) != int(b):
                    result.flip_margins.append(float(ref[i][int(b)] - ref[i][int(a)]))
        llm.reset()
        got = llm.create_completion(prompt, max_tokens=max_new_tokens, temperature=0.0, repeat_penalty=1.0)
        text = got["choices"][0]["text"]
        want = tokenizer.decode(answer, skip_special_tokens=True)
        result.prompts += 1
        if text.strip() == want.strip():
            result.same_answers += 1
        else:
            result.mismatches.append((want, text))
    return result
