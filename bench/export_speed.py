"""Benchmark `tuner export`: time, size and peak RAM per format for the embedded SmolLM2-135M, and the 7B estimate.

Usage: .venv/bin/python bench/export_speed.py [--run RUN] [--steps 2]
       [--formats merged,merged::noverify,merged:bf16,adapter,gguf:q8_0]

Without --run, first trains a quickstart run for --steps steps (no evaluation) in a temporary
TUNER_RUNS_DIR. Each export is a fresh `tuner export` subprocess into a temporary folder, timed
from the outside (Python start-up and imports included); its peak RSS is the child's ru_maxrss.
The merge RAM factor k = (peak RSS − RSS of a process that only imported the libraries) ÷ the
weights' size in the dtype they are loaded in (the larger of the run's and the export's); core/export/resources.py's MERGE_RAM_FACTOR comes from it.
`--noise --run RUN [--checkpoint CK]` prints instead how far 16-bit inference moves the logits from
the run in fp32, merged or not (the basis of core/export/verify.py's tolerances).
`FORMAT:QUANT:noverify` times the export without its verification (the merge alone), which the
7B time estimate scales by the weights' size. A format whose code is absent (gguf before core/export/gguf.py exists) is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.units import GiB, fmt_bytes  # noqa: E402 - after the sys.path line

_CHILD = """
import json, resource, sys
{body}
print("BENCH " + json.dumps({{"rc": rc, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}), file=sys.stderr)
"""
_EXPORT = "from core.cli import main\nrc = main(sys.argv[1:])"
_IMPORTS = "import torch, transformers, peft, core.export.pipeline\nfrom transformers import AutoModelForCausalLM\nrc = 0"


def child(body: str, argv: list[str], env: dict[str, str]) -> tuple[float, dict, str]:
    """(wall seconds, {"rc", "maxrss"}, stderr) of a fresh Python running `body`."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(body=body), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    took = time.perf_counter() - started
    line = next((ln for ln in out.stderr.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return took, json.loads(line[6:]), out.stdout + out.stderr


def train(runs_dir: Path, steps: int, env: dict[str, str]) -> str:
    """A quickstart run of `steps` steps, no evaluation; returns its folder."""
    cmd = [sys.executable, "-m", "core.cli", "run", "quickstart", "--max-steps", str(steps)]
    cmd += ["--set", "eval.before_training=false", "--set", f"eval.every={steps + 1}"]
    cmd += ["--set", f"eval.sample_every={steps + 1}", "--set", f"train.save_every={steps + 1}"]
    subprocess.run(cmd, cwd=ROOT, env={**env, "TUNER_RUNS_DIR": str(runs_dir)}, check=True, timeout=3600)
    return str(sorted(runs_dir.iterdir())[-1])


def dtype_noise(run: str, checkpoint: str | None) -> None:
    """Max |Δlogit| against the run in fp32 of the unmerged and the merged model in bf16 and fp16 (in-process)."""
    import torch

    from core.data.formatting import resolve_style
    from core.export.merge import load_run_model
    from core.export.source import export_source, load_tokenizer
    from core.export.verify import reference_outputs

    def logits(model, tok, text):
        with torch.no_grad():
            return model(**tok(text, return_tensors="pt", add_special_tokens=False)).logits[0].float()

    src = export_source(run, checkpoint)
    tok = load_tokenizer(src)
    style = resolve_style(tok, src.preset.data.prompt_format)
    prompts = list(src.preset.eval.sample_prompts)
    ref = reference_outputs(load_run_model(src, torch.float32).eval(), tok, style, None, prompts, 48)
    print("| dtype | unmerged vs fp32 | merged vs fp32 | merged vs unmerged |\n|---|---|---|---|")
    for dt in ("bfloat16", "float16"):
        model = load_run_model(src, getattr(torch, dt)).eval()
        unmerged = [logits(model, tok, t) for t in ref.texts]
        merged = [logits(model.merge_and_unload(), tok, t) for t in ref.texts]

        def worst(a, b):
            return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))

        print(
            f"| {dt} | {worst(unmerged, ref.logits):.3f} | {worst(merged, ref.logits):.3f} | {worst(merged, unmerged):.3f} |"
        )


def main() -> None:
    """Run the benchmark and print a markdown table plus the 7B estimate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="an existing run (default: train a quickstart run first)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--formats", default="merged,merged::noverify,merged:bf16,adapter,gguf:q8_0")
    parser.add_argument(
        "--noise", action="store_true", help="only the 16-bit logit noise table (needs --run)"
    )
    parser.add_argument("--checkpoint", help="with --noise: a checkpoint instead of adapter/")
    args = parser.parse_args()
    if args.noise:
        dtype_noise(args.run, args.checkpoint)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    tmp = Path(tempfile.mkdtemp(prefix="export-bench-"))
    run = args.run or train(tmp / "runs", args.steps, env)

    from core.estimate.shapes import KNOWN
    from core.export.resources import BYTES_PER_PARAM, MERGE_RAM_FACTOR, PROCESS_RAM, merge_ram_needed

    params = KNOWN["huggingfacetb/smollm2-135m"].total_params()
    merge_only: tuple[float, int] | None = None
    _, base, _ = child(_IMPORTS, [], env)
    print(
        f"run: {run}\nprocess after imports: {fmt_bytes(base['maxrss'])} RSS; SmolLM2-135M: {params:,} params\n"
    )
    print("| format | quant | time | size | peak RSS | k (RAM ÷ weights) | verification |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.formats.split(","):
        fmt, quant, flag = (spec.split(":") + ["", ""])[:3]
        if fmt == "gguf" and not (ROOT / "core" / "export" / "gguf.py").is_file():
            print(f"| {fmt} | {quant} | – | – | – | – | skipped: core/export/gguf.py absent |")
            continue
        out = tmp / f"out-{fmt}-{quant or 'default'}-{flag}"
        argv = ["export", run, "--format", fmt, "--out", str(out)] + (["--quant", quant] if quant else [])
        argv += ["--no-verify"] if flag == "noverify" else []
        took, res, log = child(_EXPORT, argv, env)
        if res["rc"] != 0:
            print(f"| {fmt} | {quant} | – | – | – | – | failed: {log.strip().splitlines()[-2][:120]} |")
            continue
        m = json.loads((out / "manifest.json").read_text())
        dtype = m.get("dtype") or "float32"
        k = "–"
        if fmt != "adapter":
            loaded = max(BYTES_PER_PARAM[dtype], BYTES_PER_PARAM[m["run"]["dtype"]])  # loaded as trained
            k = f"{(res['maxrss'] - base['maxrss']) / (params * loaded):.2f}"
        ver = m.get("verification") or {}
        ver = ver.get("merged", ver)
        if fmt == "merged" and flag == "noverify":
            merge_only = (took, params * BYTES_PER_PARAM[dtype])
        print(
            f"| {fmt} | {m.get('quant') or dtype} | {took:.1f} s | {fmt_bytes(m['size_bytes'])} | "
            f"{fmt_bytes(res['maxrss'])} | {k} | {ver.get('summary', 'skipped')} |"
        )
    seven = KNOWN["qwen/qwen2.5-7b"].total_params()
    print(
        f"\n7B estimate (Qwen2.5-7B, {seven / 1e9:.2f} B params, bf16 weights "
        f"{fmt_bytes(seven * 2)}): merge needs ≈ {fmt_bytes(merge_ram_needed(seven, 'bfloat16'))} RAM "
        f"(k = {MERGE_RAM_FACTOR} × weights + {PROCESS_RAM / GiB:.0f} GiB process)"
    )
    if merge_only:
        took, size = merge_only
        print(
            f"7B merge time ≈ {took * seven * 2 / size / 60:.0f} min on this machine, scaling the "
            f"135M merge without verification ({took:.1f} s for {fmt_bytes(size)}) by the weights' size"
        )


if __name__ == "__main__":
    main()
