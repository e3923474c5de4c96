"""Prompt formatting and labels: the exact text the model is trained on and prompted with.

Two styles: the tokenizer's chat template when it has one, else the user's documents' plain
`Instruction: …\\n\\nResponse: …` format. Labels mask the prompt (-100) so the loss is on the
response only; the response ends with the end-of-sequence token so generation learns to stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

IGNORE_INDEX = -100
Style = Literal["chat", "instruction"]


def resolve_style(tokenizer: Any, prompt_format: str = "auto") -> Style:
    """ "chat" if asked for or if the tokenizer has a chat template (auto), else "instruction"."""
    if prompt_format == "chat":
        if not getattr(tokenizer, "chat_template", None):
            from core.errors import ConfigError

            raise ConfigError(
                'data.prompt_format = "chat" but the tokenizer has no chat template',
                hint='use prompt_format = "instruction" or "auto"',
            )
        return "chat"
    if prompt_format == "instruction":
        return "instruction"
    return "chat" if getattr(tokenizer, "chat_template", None) else "instruction"


def _messages(
    instruction: str, system_prompt: str | None, shots: Sequence[tuple[str, str]] = ()
) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for ins, cmd in shots:  # few-shot examples as earlier turns of the same conversation
        msgs += [{"role": "user", "content": ins}, {"role": "assistant", "content": cmd}]
    return msgs + [{"role": "user", "content": instruction}]


def prompt_text(
    tokenizer: Any,
    instruction: str,
    style: Style,
    system_prompt: str | None = None,
    shots: Sequence[tuple[str, str]] = (),
) -> str:
    """The prompt the model sees before its answer (training and generation); `shots`: few-shot (instruction, command) pairs."""
    if style == "chat":
        return tokenizer.apply_chat_template(
            _messages(instruction, system_prompt, shots), tokenize=False, add_generation_prompt=True
        )
    # No trailing space: BPE tokenizers attach the space to the next word ("Ġls").
    prefix = "".join(f"Instruction: {ins}\n\nResponse: {cmd}\n\n" for ins, cmd in shots)
    return f"{prefix}Instruction: {instruction}\n\nResponse:"


def completion_text(
    tokenizer: Any, instruction: str, command: str, style: Style, system_prompt: str | None = None
) -> str:
    """The answer the model is trained to produce, end-of-sequence marker included."""
    eos = tokenizer.eos_token or ""
    if style == "chat":
        prompt = prompt_text(tokenizer, instruction, "chat", system_prompt)
        msgs = _messages(instruction, system_prompt) + [{"role": "assistant", "content": command}]
        full = tokenizer.apply_chat_template(msgs, tokenize=False)
        if full.startswith(prompt):
            # Keep the template's own end-of-turn marker; the newline after it teaches nothing.
            return full[len(prompt) :].rstrip("\n")
        return command + eos  # templates that rewrite earlier turns: fall back to the plain answer
    return " " + command + eos


@dataclass
class Encoded:
    """Token ids of one example and its labels (prompt masked)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def num_response_tokens(self) -> int:
        """Tokens that carry loss."""
        return sum(1 for t in self.labels if t != IGNORE_INDEX)


def encode_example(
    tokenizer: Any, instruction: str, command: str, style: Style, system_prompt: str | None = None
) -> Encoded:
    """Tokenize prompt and completion separately so the boundary (and the mask) is exact."""
    prompt = prompt_text(tokenizer, instruction, style, system_prompt)
    completion = completion_text(tokenizer, instruction, command, style, system_prompt)
    p_ids = tokenizer(prompt, add_special_tokens=style == "instruction")["input_ids"]
    c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return Encoded(list(p_ids) + list(c_ids), [IGNORE_INDEX] * len(p_ids) + list(c_ids))
