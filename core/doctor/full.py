"""`tuner doctor --full` for one preset: load the tokenizer and config, ask the Hub about the model and datasets, stream one row."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from core.doctor.preset_model import ModelPlan
from core.doctor.presets import PresetContext, source_label
from core.doctor.report import Check, first_line
from core.doctor.timeout import run_with_timeout
from core.errors import TunerError


def _load_tokenizer_config(plan: ModelPlan, trust_remote_code: bool) -> str:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoConfig, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    kw: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if plan.gguf_file:
        kw["gguf_file"] = plan.gguf_file
    if plan.hub_id:
        kw["local_files_only"] = True
        if plan.revision:
            kw["revision"] = plan.revision
    assert plan.location is not None  # full_model_checks loads only a plan with a location
    tok = AutoTokenizer.from_pretrained(plan.location, **kw)
    if plan.kind == "scratch":
        return f"tokenizer {type(tok).__name__}, vocab {len(tok)}"
    config = AutoConfig.from_pretrained(plan.location, **kw)
    layers = getattr(config, "num_hidden_layers", None)
    hidden = getattr(config, "hidden_size", None)
    ctx_len = getattr(config, "max_position_embeddings", None)
    return (
        f"{config.model_type}: {layers} layers, hidden {hidden}, context {ctx_len}; "
        f"tokenizer {type(tok).__name__}, vocab {len(tok)}"
    )


def full_model_checks(preset: Any, plan: ModelPlan, ctx: PresetContext) -> list[Check]:
    """Load the model's tokenizer and config when they are local (never the weights); ask the Hub about it."""
    out: list[Check] = []
    name = "tokenizer + config"
    if plan.kind == "scratch" and not plan.location:
        out.append(
            Check(name, "skip", "from-scratch model: its tokenizer is trained at the start of the run")
        )
    elif plan.kind == "missing" or not plan.location:
        out.append(Check(name, "skip", "the model is not available (see model)"))
    elif not plan.local:
        out.append(
            Check(name, "skip", "not in the local cache (see model); weights are never downloaded by doctor")
        )
    else:
        t = time.perf_counter()
        try:
            text = run_with_timeout(
                lambda: _load_tokenizer_config(plan, preset.model.trust_remote_code), ctx.timeout
            )
            out.append(Check(name, "pass", f"{text} ({time.perf_counter() - t:.1f} s)"))
        except TimeoutError as e:
            out.append(Check(name, "warn", f"loading did not finish: {e}"))
        except Exception as e:  # any load error: the model files are broken
            out.append(
                Check(
                    name,
                    "fail",
                    f"cannot load: {type(e).__name__}: {first_line(e)}",
                    "re-download the model (`huggingface-cli download`) or fix [model] id",
                )
            )
    if plan.hub_id and ctx.hub.reachable:
        out.append(_hub_info_check("Hub model info", plan.hub_id, "model", plan.revision, ctx))
    return out


def hub_queries_skipped(preset: Any, plan: ModelPlan, ctx: PresetContext) -> Check | None:
    """Offline, one 'skip' line naming the Hub queries --full would have made for this preset."""
    if ctx.hub.reachable:
        return None
    hub_sources = [s for s in preset.data.sources if s.kind == "hub"]
    parts = [f"model info ({plan.hub_id})"] if plan.hub_id else []
    if hub_sources:
        parts.append(f"dataset info ×{len(hub_sources)}")
    streams = sum(1 for s in hub_sources if s.streaming)
    if streams:
        parts.append(f"one streamed row ×{streams}")
    if not parts:
        return None
    return Check("Hub queries", "skip", f"{', '.join(parts)}: not run, {ctx.hub.why}")


def _hub_info_check(
    label: str, repo_id: str, repo_type: str, revision: str | None, ctx: PresetContext
) -> Check:
    def call() -> Any:
        from huggingface_hub import HfApi

        api = HfApi()
        t = min(ctx.timeout, 20.0)
        if repo_type == "dataset":
            return api.dataset_info(repo_id, revision=revision, timeout=t)
        return api.model_info(repo_id, revision=revision, timeout=t)

    try:
        info = run_with_timeout(call, ctx.timeout)
    except TimeoutError as e:
        return Check(label, "warn", f"{repo_id}: {e}", "try again, or check the network")
    except Exception as e:  # huggingface_hub's errors, told apart by name
        kind = type(e).__name__
        if kind == "GatedRepoError":
            return Check(
                label,
                ctx.here,
                f"{repo_id} is gated: access not granted to this token",
                "accept the terms on its Hub page and log in (`hf auth login` or HF_TOKEN)",
            )
        if kind in ("RepositoryNotFoundError", "RevisionNotFoundError"):
            return Check(
                label, "fail", f"{repo_id}: not found on the Hub ({kind})", "check the id (and revision)"
            )
        return Check(label, "warn", f"{repo_id}: {kind}: {first_line(e)}")
    bits = [f"found (sha {str(getattr(info, 'sha', '') or '')[:7]})"]
    gated = getattr(info, "gated", False)
    if gated:
        bits.append(f"gated ({gated}): needs a token with access")
    st = getattr(info, "safetensors", None)
    total = getattr(st, "total", None) if st is not None else None
    if total:
        bits.append(f"{total / 1e9:.2f} B parameters")
    return Check(
        label,
        "warn" if gated else "pass",
        f"{repo_id}: " + ", ".join(bits),
        "log in with a token that has access (`hf auth login`)" if gated else "",
    )


def _stream_one(preset: Any, src: Any) -> str:
    if preset.data.task == "text" or src.text_field:
        from core.data.hub import iter_text_corpus

        it = iter_text_corpus(src.id, src.config, src.split, src.text_field or "text", streaming=True)
        first = next(iter(it), None)
        if first is None:
            raise RuntimeError("the stream yielded no text")
        return f"first row: {len(first)} characters"
    from core.data.hub import stream_hub_source

    stream = stream_hub_source(
        src.id,
        config=src.config,
        split=src.split,
        instruction_field=src.instruction_field,
        command_field=src.command_field,
        category_field=src.category_field,
    )
    got = stream.collect(limit=1)
    if not got.examples:
        raise RuntimeError("the stream yielded no usable row")
    ex = got.examples[0]
    return f"first row: {ex.instruction[:40]!r} → {ex.command[:40]!r}"


def full_source_checks(preset: Any, ctx: PresetContext) -> list[Check]:
    """Per Hub source when the Hub answers: dataset info, and one streamed row of a streaming source."""
    out: list[Check] = []
    for src in preset.data.sources:
        if src.kind != "hub":
            continue
        label = source_label(src).removeprefix("data: ")
        if not ctx.hub.reachable:
            continue  # one line for all of them: hub_queries_skipped
        out.append(_hub_info_check(f"Hub dataset info: {label}", src.id, "dataset", None, ctx))
        if src.streaming:
            t = time.perf_counter()
            try:
                text = run_with_timeout(functools.partial(_stream_one, preset, src), ctx.timeout)
                out.append(
                    Check(
                        f"stream 1 row: {label}",
                        "pass",
                        f"{src.id}: {text} ({time.perf_counter() - t:.1f} s)",
                    )
                )
            except TimeoutError as e:
                out.append(
                    Check(
                        f"stream 1 row: {label}", "warn", f"{src.id}: {e}", "check the network, or try again"
                    )
                )
            except TunerError as e:
                out.append(Check(f"stream 1 row: {label}", ctx.here, f"{src.id}: {e.message}", e.hint))
            except Exception as e:  # any streaming error: this source cannot be read
                out.append(
                    Check(
                        f"stream 1 row: {label}", ctx.here, f"{src.id}: {type(e).__name__}: {first_line(e)}"
                    )
                )
    return out
