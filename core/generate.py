"""Greedy generation for training samples, `tuner generate/chat/eval` and the playground: prompts in, commands out.

Nothing generated is ever executed; the extracted command is only checked for danger.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.data.extract import extract_command
from core.data.formatting import Style, prompt_text
from core.data.safety import dangerous_reason

if TYPE_CHECKING:
    from core.run_model import Loaded


@dataclass
class Answer:
    """One generation: raw text, the extracted command and its danger flag."""

    prompt: str
    output: str
    command: str
    dangerous: str | None

    def to_json(self) -> dict[str, Any]:
        """Plain dict (sample events, prediction files)."""
        return {
            "prompt": self.prompt,
            "output": self.output,
            "command": self.command,
            "dangerous": self.dangerous,
        }


def answer_from_text(prompt: str, output: str) -> Answer:
    """Wrap raw output with its extracted command and danger check."""
    cmd = extract_command(output)
    return Answer(prompt, output, cmd, dangerous_reason(cmd) if cmd else None)


def generate_batch(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    *,
    style: Style,
    system_prompt: str | None = None,
    max_new_tokens: int = 64,
    batch_size: int = 16,
    should_stop: Callable[[], bool] | None = None,
    shots: Sequence[tuple[str, str]] = (),
) -> list[Answer]:
    """Greedy answers for many prompts, batched with left padding; `should_stop()` cuts it short (partial answers)."""
    import torch

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
    answers: list[Answer] = []
    try:
        for start in range(0, len(prompts), batch_size):
            if should_stop is not None and should_stop():
                break
            chunk = prompts[start : start + batch_size]
            texts = [prompt_text(tokenizer, p, style, system_prompt, shots) for p in chunk]
            enc = tokenizer(
                texts, return_tensors="pt", padding=True, add_special_tokens=style == "instruction"
            ).to(device)
            with torch.no_grad():
                out = model.generate(
                    **enc,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    use_cache=True,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                    stopping_criteria=_stop_when(should_stop),
                )
            new = out[:, enc["input_ids"].shape[1] :]
            for p, ids in zip(chunk, new, strict=True):
                answers.append(answer_from_text(p, tokenizer.decode(ids, skip_special_tokens=True).strip()))
    finally:
        tokenizer.padding_side = old_side
        if was_training:
            model.train()
    return answers


def _stop_when(should_stop: Callable[[], bool] | None) -> Any:
    """A StoppingCriteriaList that ends generation between two tokens once should_stop() says so."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    if should_stop is None:
        return None

    class Flag(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            stop = should_stop is not None and should_stop()
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([Flag()])


def stream_answer(
    model: Any,
    tokenizer: Any,
    prompt: str,
    *,
    style: Style,
    system_prompt: str | None = None,
    max_new_tokens: int = 128,
) -> Iterator[str]:
    """Yield text pieces as they are generated (greedy), for `tuner chat` and the playground."""
    import threading

    import torch
    from transformers import TextIteratorStreamer

    device = next(model.parameters()).device
    text = prompt_text(tokenizer, prompt, style, system_prompt)
    enc = tokenizer(text, return_tensors="pt", add_special_tokens=style == "instruction").to(device)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = dict(
        **enc,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        streamer=streamer,
        use_cache=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )

    def work() -> None:
        with torch.no_grad():
            model.generate(**kwargs)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield from streamer
    thread.join()


# ---------------------------------------------------------------------------------- streaming


class _StopOnEvent:
    """A generation stopping criterion that ends every sequence once `event` is set (Ctrl-C in chat)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full(
            (input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device
        )


class _Stoppable:
    """The model as `core.generate.stream_answer` sees it, with a stop switch added to `generate`."""

    def __init__(self, model: Any, event: threading.Event) -> None:
        self._model = model
        self._event = event

    def parameters(self) -> Any:
        return self._model.parameters()

    def generate(self, **kwargs: Any) -> Any:
        from transformers import StoppingCriteriaList

        kwargs["stopping_criteria"] = StoppingCriteriaList([_StopOnEvent(self._event)])
        return self._model.generate(**kwargs)


def stream_reply(
    loaded: Loaded, prompt: str, *, max_new_tokens: int = 128, stop: threading.Event | None = None
) -> Iterator[str]:
    """Text pieces of a greedy answer as they are generated; setting `stop` ends it within one token.

    When `stop` is set, keep iterating to the end: the generator then finishes at once (the
    background generation has stopped) instead of leaving a thread generating.
    """
    model = loaded.model if stop is None else _Stoppable(loaded.model, stop)
    yield from stream_answer(
        model,
        loaded.tokenizer,
        prompt,
        style=loaded.style,
        system_prompt=loaded.system_prompt,
        max_new_tokens=max_new_tokens,
    )
