"""An Ollama Modelfile that prompts a GGUF export exactly as the run was trained.

tuner trains on one of two prompt formats (core.data.formatting): the tokenizer's chat template, or
its own `Instruction: …\\n\\nResponse:` text. Rather than translate Jinja to Go templates, we render
tuner's own prompt_text with placeholder strings and cut the result at them, so TEMPLATE holds the
very text training used, including the default system prompt a chat template inserts (emitted as
SYSTEM, with the template's no-system form kept in the `else` branch).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.data.formatting import Style, completion_text, prompt_text, resolve_style
from core.errors import TunerError
from core.export.stop_tokens import trained_stop_ids

_SYSTEM = "\u27e6tuner-system\u27e7"
_PROMPT = "\u27e6tuner-prompt\u27e7"
_RESPONSE = "\u27e6tuner-response\u27e7"


def _literal(text: str, model_dir: Path) -> str:
    """Template text as a Go-template literal (a `{{` in the text would open an action)."""
    if '"""' in text:
        raise TunerError(
            f'the prompt format of {model_dir} contains """, which an Ollama Modelfile cannot quote',
            kind="export",
            hint="export the GGUF without --ollama and write the Modelfile by hand",
        )
    return text.replace("{{", '{{ "{{" }}')


def _split_once(text: str, marker: str, model_dir: Path) -> tuple[str, str]:
    parts = text.split(marker)
    if len(parts) != 2:
        raise TunerError(
            f"the chat template of {model_dir} does not place the prompt once, as Ollama's TEMPLATE needs",
            kind="export",
            hint="export the GGUF without --ollama and write the Modelfile by hand",
        )
    return parts[0], parts[1]


def _response_suffix(tok: Any, style: Style, system: str | None) -> str:
    """What follows an answer in training text (end-of-turn marker or EOS), for earlier turns."""
    answer = completion_text(tok, _PROMPT, _RESPONSE, style, system)
    if style == "chat":
        prompt = prompt_text(tok, _PROMPT, "chat", system)
        msgs = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": _PROMPT},
            {"role": "assistant", "content": _RESPONSE},
        ]
        full = tok.apply_chat_template(msgs, tokenize=False)
        if full.startswith(prompt):
            answer = full[len(prompt) :]  # keeps the newline between turns that training stripped
    return answer.split(_RESPONSE, 1)[1]


def _chat_template(tok: Any, system_prompt: str | None, model_dir: Path) -> tuple[str, str | None]:
    """(TEMPLATE body, SYSTEM text or None) reproducing prompt_text for the chat style."""
    before_sys, rest = _split_once(prompt_text(tok, _PROMPT, "chat", _SYSTEM), _SYSTEM, model_dir)
    between, after = _split_once(rest, _PROMPT, model_dir)
    bare_before, bare_after = _split_once(prompt_text(tok, _PROMPT, "chat", None), _PROMPT, model_dir)
    if bare_after != after:
        raise TunerError(
            f"the chat template of {model_dir} ends the prompt differently with and without a system prompt",
            kind="export",
            hint="export the GGUF without --ollama and write the Modelfile by hand",
        )
    # A template that inserts its own system prompt when none is given (SmolLM2, Qwen2.5) renders
    # the same text as the system branch with that prompt: emit it as SYSTEM.
    system = system_prompt
    if system is None and bare_before.startswith(before_sys) and bare_before.endswith(between):
        inserted = bare_before[len(before_sys) : len(bare_before) - len(between)]
        system = inserted or None

    def lit(text: str) -> str:
        return _literal(text, model_dir)

    template = (
        f"{{{{ if .System }}}}{lit(before_sys)}{{{{ .System }}}}{lit(between)}"
        f"{{{{ else }}}}{lit(bare_before)}{{{{ end }}}}"
        f"{{{{ .Prompt }}}}{lit(after)}{{{{ .Response }}}}{lit(_response_suffix(tok, 'chat', system))}"
    )
    return template, system


def _instruction_template(tok: Any, model_dir: Path) -> str:
    """TEMPLATE body reproducing tuner's instruction format (it has no system prompt)."""
    before, after = _split_once(prompt_text(tok, _PROMPT, "instruction"), _PROMPT, model_dir)
    suffix = _response_suffix(tok, "instruction", None)
    return (
        f"{_literal(before, model_dir)}{{{{ .Prompt }}}}{_literal(after, model_dir)}"
        f"{{{{ .Response }}}}{_literal(suffix, model_dir)}"
    )


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def modelfile_text(
    gguf_name: str, model_dir: Path, system_prompt: str | None, style: Style | None = None
) -> str:
    """The Modelfile for `gguf_name` (beside it) reproducing the prompt format of `model_dir`'s tokenizer."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    style = style or resolve_style(tok, "auto")
    lines = [
        f"# Written by tuner export: the prompt format the run trained with ({style}).",
        f"FROM ./{gguf_name}",
    ]
    if style == "chat":
        template, system = _chat_template(tok, system_prompt, model_dir)
    else:
        template, system = _instruction_template(tok, model_dir), None
        if system_prompt:
            lines.append("# The instruction format has no system prompt; training ignored it.")
    lines.append(f'TEMPLATE """{template}"""')
    if system:
        lines.append(f'SYSTEM """{_literal(system, model_dir)}"""')
    for token in tok.convert_ids_to_tokens(trained_stop_ids(tok, style, system_prompt)):
        lines.append(f"PARAMETER stop {_quoted(token)}")
    # tuner's own generate/chat/eval decode greedily.
    lines.append("PARAMETER temperature 0")
    return "\n".join(lines) + "\n"


def write_modelfile(
    out_dir: Path, gguf_name: str, model_dir: Path, system_prompt: str | None, style: Style | None = None
) -> Path:
    """Write `out_dir/Modelfile` for the GGUF `gguf_name`; style defaults to what the tokenizer implies."""
    text = modelfile_text(gguf_name, Path(model_dir), system_prompt, style)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "Modelfile"
    # A temporary name beside the target, then an atomic rename: never a half-written Modelfile.
    tmp = out_dir / f".Modelfile.tmp-{os.getpid()}"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
