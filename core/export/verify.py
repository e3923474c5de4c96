"""Prove an export answers like the run: logits on the run's sample prompts and greedy answers.

The reference is the run's model as the export merges it (base loaded unquantized in the run's
dtype, plus the adapter, unmerged), measured before the merge. The exported folder is then loaded
back from disk with its own tokenizer (so a chat template or EOS that failed to travel shows up)
and must give the same greedy answers and logits within the dtype's tolerance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data.formatting import Style, prompt_text, resolve_style
from core.generate import generate_batch

# Largest |logit difference| accepted, by the dtype the export is saved in; the reference is the run's
# model as it computed (base + adapter, unmerged, in the run's dtype). fp32: merging only reorders the
# same sums (measured 1e-4 on SmolLM2-135M). 16-bit: the weights are rounded to 8 (bf16) or 11 (fp16)
# mantissa bits, which moves logits of SmolLM2-135M by up to ~3.5 (bf16) and ~0.25 (fp16) against
# fp32, merged or not (docs/export.md). A greedy answer may diverge only at a near-tie: where the
# run's own logits for its token and the export's token are within the tolerance.
TOLERANCE = {"float32": 1e-3, "float16": 0.5, "bfloat16": 4.0}


@dataclass
class Reference:
    """What the run's model says: greedy answers and the logits over prompt + answer."""

    prompts: list[str]
    answers: list[str]
    texts: list[str]
    logits: list[Any]  # float32 tensors [tokens, vocab]
    adapter_effect: float | None = None  # max |Δlogit| between the base alone and base + adapter


@dataclass
class Verification:
    """Outcome of comparing an export with its run."""

    ok: bool
    max_abs_logit_diff: float | None
    tolerance: float
    same_answers: int
    prompts: int
    dtype: str
    problem: str | None = None  # why it failed, one line
    near_ties: int = 0  # answers that diverge where the run's top two choices were within the tolerance
    adapter_effect: float | None = None  # Reference.adapter_effect: the scale a lost adapter would show
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the terminal and the manifest."""
        diff = "–" if self.max_abs_logit_diff is None else f"{self.max_abs_logit_diff:.2e}"
        verdict = "matches the run" if self.ok else f"DOES NOT match the run ({self.problem})"
        return (
            f"{verdict}: max |Δlogit| {diff} (tolerance {self.tolerance:g} for {self.dtype}), "
            f"same greedy answer on {self.same_answers}/{self.prompts} sample prompts"
            + (f" ({self.near_ties} diverging at a near-tie)" if self.near_ties else "")
            + (
                f"; the adapter itself moves logits by up to {self.adapter_effect:.3g}"
                if self.adapter_effect
                else ""
            )
        )

    def to_json(self) -> dict[str, Any]:
        """Plain dict for manifest.json."""
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "max_abs_logit_diff": self.max_abs_logit_diff,
            "tolerance": self.tolerance,
            "dtype": self.dtype,
            "same_answers": self.same_answers,
            "near_ties": self.near_ties,
            "adapter_effect": self.adapter_effect,
            "prompts": self.prompts,
            "problem": self.problem,
            "mismatches": self.mismatches,
            "seconds": round(self.seconds, 2),
        }


def _logits(model: Any, tokenizer: Any, text: str, style: Style) -> Any:
    import torch

    enc = tokenizer(text, return_tensors="pt", add_special_tokens=style == "instruction")
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"].to(model.device))
    return out.logits[0].float().cpu()


def reference_outputs(
    model: Any,
    tokenizer: Any,
    style: Style,
    system_prompt: str | None,
    prompts: list[str],
    max_new_tokens: int,
) -> Reference:
    """Greedy answers and logits of the run's model (before the merge) on the sample prompts."""
    answers = [
        a.output
        for a in generate_batch(
            model, tokenizer, prompts, style=style, system_prompt=system_prompt, max_new_tokens=max_new_tokens
        )
    ]
    texts = [
        prompt_text(tokenizer, p, style, system_prompt) + a for p, a in zip(prompts, answers, strict=True)
    ]
    logits = [_logits(model, tokenizer, t, style) for t in texts]
    effect = None
    if hasattr(model, "disable_adapter"):  # a PeftModel: how far the adapter moves the base, for scale
        with model.disable_adapter():
            effect = max(
                float((_logits(model, tokenizer, t, style) - r).abs().max())
                for t, r in zip(texts, logits, strict=True)
            )
    return Reference(prompts, answers, texts, logits, effect)


def compare(
    model: Any,
    tokenizer: Any,
    ref: Reference,
    *,
    style: Style,
    system_prompt: str | None,
    max_new_tokens: int,
    dtype: str,
) -> Verification:
    """Check a loaded export against the reference: same greedy answers, logits within tolerance."""
    tol = TOLERANCE.get(dtype, TOLERANCE["float16"])
    answers = [
        a.output
        for a in generate_batch(
            model,
            tokenizer,
            ref.prompts,
            style=style,
            system_prompt=system_prompt,
            max_new_tokens=max_new_tokens,
        )
    ]
    mismatches: list[dict[str, Any]] = []
    ties = 0
    for i, (p, r, e) in enumerate(zip(ref.prompts, ref.answers, answers, strict=True)):
        if r == e:
            continue
        margin = _divergence_margin(tokenizer, ref, i, e, style, system_prompt)
        tie = margin is not None and margin <= tol
        ties += tie
        mismatches.append({"prompt": p, "run": r, "export": e, "margin": margin, "near_tie": tie})
    worst = 0.0
    problem = None
    for text, expected in zip(ref.texts, ref.logits, strict=True):
        got = _logits(model, tokenizer, text, style)
        if got.shape != expected.shape:
            problem = f"the exported tokenizer splits a prompt into {got.shape[0]} tokens, the run's into {expected.shape[0]}"
            break
        worst = max(worst, float((got - expected).abs().max()))
    if problem is None and worst > tol:
        problem = f"logits differ by {worst:.3g} > {tol:g}"
    if problem is None and len(mismatches) > ties:
        problem = f"{len(mismatches) - ties} greedy answer(s) differ beyond a near-tie"
    same = len(ref.prompts) - len(mismatches)
    return Verification(
        problem is None,
        None if problem and "tokenizer" in problem else worst,
        tol,
        same,
        len(ref.prompts),
        dtype,
        problem,
        ties,
        ref.adapter_effect,
        mismatches,
    )


def _divergence_margin(
    tokenizer: Any, ref: Reference, i: int, answer: str, style: Style, system_prompt: str | None
) -> float | None:
    """How much the run preferred its own token over the export's where the two answers first differ.

    None when the divergence cannot be located in the run's logits (then it counts as a real mismatch).
    """
    prompt = prompt_text(tokenizer, ref.prompts[i], style, system_prompt)
    special = style == "instruction"
    run_ids = tokenizer(ref.texts[i], add_special_tokens=special)["input_ids"]
    exp_ids = tokenizer(prompt + answer, add_special_tokens=special)["input_ids"]
    if len(run_ids) != ref.logits[i].shape[0]:
        return None
    pos = next(
        (k for k, (a, b) in enumerate(zip(run_ids, exp_ids, strict=False)) if a != b),
        min(len(run_ids), len(exp_ids)),
    )
    if pos == 0 or (pos >= len(run_ids) and pos >= len(exp_ids)):  # nothing before, or no difference
        return None
    stop = tokenizer.eos_token_id  # the shorter answer ended there: its next token was the stop token
    run_tok = run_ids[pos] if pos < len(run_ids) else stop
    exp_tok = exp_ids[pos] if pos < len(exp_ids) else stop
    if pos - 1 >= ref.logits[i].shape[0] or run_tok is None or exp_tok is None:
        return None
    row = ref.logits[i][pos - 1]
    return float(row[run_tok] - row[exp_tok])


def verify_folder(
    folder: Path,
    ref: Reference,
    *,
    prompt_format: str,
    run_style: Style,
    system_prompt: str | None,
    max_new_tokens: int,
    dtype: str,
    trust_remote_code: bool = False,
) -> Verification:
    """Load an exported model folder the way a user would (AutoModelForCausalLM + its tokenizer) and compare."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    style = resolve_style(tokenizer, prompt_format)
    if style != run_style:
        return Verification(
            False,
            None,
            TOLERANCE.get(dtype, 0.0),
            0,
            len(ref.prompts),
            dtype,
            f"the run was prompted in {run_style} style, the export's tokenizer gives {style} (chat template lost)",
            seconds=time.perf_counter() - started,
        )
    model = AutoModelForCausalLM.from_pretrained(
        str(folder), dtype="auto", trust_remote_code=trust_remote_code
    )
    model.eval()
    result = compare(
        model,
        tokenizer,
        ref,
        style=style,
        system_prompt=system_prompt,
        max_new_tokens=max_new_tokens,
        dtype=dtype,
    )
    result.seconds = time.perf_counter() - started
    return result
