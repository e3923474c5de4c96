"""Where a preset's model comes from: the embedded model, a GGUF file, a local folder, a from-scratch config or a Hub id, and whether it is here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.doctor.embedded import converted_ok, embedded_converted_path
from core.doctor.hub_cache import download_hint, model_cache_status, weights_present
from core.doctor.presets import PresetContext
from core.doctor.report import Check, Status, tilde
from core.errors import TunerError
from core.units import fmt_bytes


@dataclass
class ModelPlan:
    """How the preset's model would be found, for the quick check and the --full loads."""

    kind: str  # embedded | gguf | local | hub | scratch | missing
    location: str | None = None  # folder / hub id to load the tokenizer+config from
    gguf_file: str | None = None  # load from GGUF (embedded not converted yet)
    local: bool = False  # available without the network
    revision: str | None = None
    hub_id: str | None = None  # set when it comes from a Hub repo (model, or a scratch tokenizer)


def _check_hub_model(
    hub_id: str, revision: str | None, ctx: PresetContext, label: str
) -> tuple[Check, ModelPlan]:
    st = model_cache_status(hub_id, revision, tokenizer_only=label == "tokenizer")
    plan = ModelPlan("hub", hub_id, local=st.cached, revision=revision, hub_id=hub_id)
    if st.detail.startswith("not a valid Hub id"):
        return Check(
            label,
            "fail",
            f"{hub_id!r} is neither an existing folder nor a Hub id: {st.detail}",
            "set [model] id to a Hub id (owner/name), a local folder or a .gguf file",
        ), ModelPlan("missing")
    if st.cached and st.complete:
        return Check(label, "pass", f"{hub_id}: {st.detail}"), plan
    if st.cached:
        status: Status = "warn" if ctx.hub.reachable else ctx.here
        fix = "" if ctx.hub.reachable else download_hint(hub_id, revision=revision)
        more = "the rest downloads on first use" if ctx.hub.reachable else ctx.hub.why
        return Check(label, status, f"{hub_id}: {st.detail}; {more}", fix), plan
    if ctx.hub.reachable:
        return Check(
            label,
            "warn",
            f"{hub_id}: {st.detail}; the first run downloads it from the Hub",
            f"optional: `huggingface-cli download {hub_id}` now, so the run starts at once",
        ), plan
    return Check(
        label, ctx.here, f"{hub_id}: {st.detail}; {ctx.hub.why}", download_hint(hub_id, revision=revision)
    ), plan


def check_model(preset: Any, base_dir: Path, ctx: PresetContext) -> tuple[list[Check], ModelPlan]:
    """The preset's model is available here (and its tokenizer, for a from-scratch model), and how --full would load it."""
    from core.config.schema import EMBEDDED_MODEL

    cfg = preset.model
    if cfg.scratch is not None:
        s = cfg.scratch
        checks = [
            Check(
                "model",
                "pass",
                f"built from a config: {s.architecture} {s.size}, vocab {s.vocab_size}, "
                f"context {s.context_length} (nothing to download)",
            )
        ]
        if s.tokenizer:
            path = Path(s.tokenizer).expanduser()
            if path.exists():
                checks.append(Check("tokenizer", "pass", f"local {tilde(path)}"))
                return checks, ModelPlan("scratch", str(path), local=True)
            check, plan = _check_hub_model(s.tokenizer, None, ctx, "tokenizer")
            checks.append(check)
            return checks, ModelPlan("scratch", plan.location, local=plan.local, hub_id=plan.hub_id)
        checks.append(Check("tokenizer", "pass", "trained on the corpus (BPE) at the start of the run"))
        return checks, ModelPlan("scratch")
    if cfg.id.startswith("embedded:"):
        if cfg.id != EMBEDDED_MODEL:
            return [
                Check("model", "fail", f"unknown embedded model {cfg.id!r}", f'use id = "{EMBEDDED_MODEL}"')
            ], ModelPlan("missing")
        from core.models.embedded import embedded_gguf_path

        try:
            gguf = embedded_gguf_path()
        except TunerError as e:
            return [Check("model", "fail", e.message, e.hint)], ModelPlan("missing")
        target = embedded_converted_path(gguf)
        if converted_ok(target):
            return [Check("model", "pass", f"{cfg.id}: converted copy cached")], ModelPlan(
                "embedded", str(target), local=True
            )
        return (
            [Check("model", "pass", f"{cfg.id}: GGUF present, converted on first use (~11 s)")],
            ModelPlan("embedded", str(gguf.parent), gguf_file=gguf.name, local=True),
        )
    path = Path(cfg.id).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            return [
                Check("model", "fail", f"GGUF file {str(path)!r} does not exist", "fix [model] id")
            ], ModelPlan("missing")
        target = embedded_converted_path(path)
        state = "converted copy cached" if converted_ok(target) else "converted on first use"
        plan = (
            ModelPlan("gguf", str(target), local=True)
            if converted_ok(target)
            else ModelPlan("gguf", str(path.parent), path.name, True)
        )
        return [Check("model", "pass", f"{tilde(path)} ({fmt_bytes(path.stat().st_size)}), {state}")], plan
    if path.is_dir():
        if cfg.gguf_file:
            g = path / cfg.gguf_file
            if not g.is_file():
                return [
                    Check("model", "fail", f"{tilde(g)} does not exist", "fix [model] gguf_file")
                ], ModelPlan("missing")
            return [Check("model", "pass", f"{tilde(g)} (GGUF)")], ModelPlan("gguf", str(path), g.name, True)
        if not (path / "config.json").is_file():
            return [
                Check(
                    "model",
                    "fail",
                    f"{tilde(path)} has no config.json",
                    "point [model] id at a folder written by save_pretrained",
                )
            ], ModelPlan("missing")
        ok, what = weights_present(path)
        return (
            [
                Check(
                    "model",
                    "pass" if ok else "warn",
                    f"local folder {tilde(path)} ({what})",
                    "" if ok else "copy the weight files into the folder",
                )
            ],
            ModelPlan("local", str(path), local=True),
        )
    if cfg.id.startswith((".", "/", "~")):
        return [
            Check("model", "fail", f"model folder {cfg.id!r} does not exist", "fix [model] id")
        ], ModelPlan("missing")
    check, plan = _check_hub_model(cfg.id, cfg.revision, ctx, "model")
    return [check], plan
