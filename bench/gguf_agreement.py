"""Token agreement of each GGUF quantization with the transformers model, through llama.cpp itself.

Usage: .venv/bin/python bench/gguf_agreement.py [--model DIR] [--quants f16,q8_0,q4_k_m] [--rows N]
       [--max-new 32] [--out bench/out/gguf-agreement.json]

DIR is a merged transformers model folder (default: the embedded SmolLM2-135M-Instruct's safetensors
copy). Prompts are the quickstart preset's test split (bundled data, built by core.data), formatted
as the preset trains (chat template, system prompt). For each quantization this machine can produce
(core.export.gguf.available_quants), the model is converted with llama.cpp's converter/quantizer and
compared with the HF model's greedy answers (core.export.gguf_agreement): the share of answer tokens
llama.cpp ranks first under teacher forcing, and how many greedy answers are the same text.
Needs llama-cpp-python (`make test-gguf` builds it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    """Convert, compare, print one line per quantization and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--quants", default="f16,q8_0,q4_k_m")
    ap.add_argument("--rows", type=int, default=0, help="first N test rows (0: all)")
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--out", type=Path, default=Path("bench/out/gguf-agreement.json"))
    args = ap.parse_args()

    import torch
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.config.loader import load_preset
    from core.data.build import build_data
    from core.data.formatting import prompt_text, resolve_style
    from core.export.gguf import available_quants, convert_to_gguf
    from core.export.gguf_agreement import compare, hf_greedy, load_gguf
    from core.models.embedded import converted_dir

    folder = args.model or converted_dir()
    preset, _ = load_preset("quickstart")
    rows = build_data(preset).split("test")
    rows = rows[: args.rows] if args.rows else rows
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    style = resolve_style(tok, preset.data.prompt_format)
    started = time.time()
    cases = []
    for row in rows:
        text = prompt_text(tok, row.instruction, style, preset.data.system_prompt)
        ids = tok(text, add_special_tokens=style == "instruction")["input_ids"]
        cases.append((ids, hf_greedy(model, tok, ids, args.max_new)))
    print(f"{len(cases)} test rows of quickstart, HF greedy answers in {time.time() - started:.0f} s")
    # The HF model teacher-forced on its own answers: where a GGUF disagrees, how close was the call?
    reference_logits = []
    all_gaps = []
    with torch.no_grad():
        for ids, answer in cases:
            logits = model(torch.tensor([ids + answer])).logits[0, len(ids) - 1 : len(ids) - 1 + len(answer)]
            reference_logits.append(logits.numpy())
            top2 = torch.topk(logits, 2, dim=-1).values
            all_gaps += (top2[:, 0] - top2[:, 1]).tolist()

    quants = available_quants()
    report = {"model": str(folder), "rows": len(cases), "max_new_tokens": args.max_new, "quants": {}}
    with tempfile.TemporaryDirectory(prefix="gguf-agreement-") as tmp:
        for quant in args.quants.split(","):
            if quants.get(quant, "unknown quantization") is not None:
                print(f"{quant}: skipped ({quants.get(quant, 'unknown quantization')})")
                continue
            path = Path(tmp) / f"model-{quant}.gguf"
            t0 = time.time()
            convert_to_gguf(folder, path, quant)
            convert_s = time.time() - t0
            t0 = time.time()
            result = compare(
                load_gguf(path, n_ctx=1024),
                tok,
                cases,
                quant,
                args.max_new,
                reference_logits=reference_logits,
            )
            flips = sorted(result.flip_margins)
            if flips:
                below = sum(g <= flips[-1] for g in all_gaps) / len(all_gaps)
                print(
                    f"{quant}: {len(flips)} flips at reference logit gaps median {flips[len(flips) // 2]:.2f}, "
                    f"max {flips[-1]:.2f} ({below:.0%} of all answer positions have a top-2 gap that small)"
                )
            # K-quants fall back per tensor where rows are not multiples of 256: say what was written.
            types = Counter(t.tensor_type.name for t in GGUFReader(path).tensors)
            print(
                f"{result.summary()}; {path.stat().st_size / 2**20:.0f} MiB, converted in {convert_s:.0f} s"
            )
            report["quants"][quant] = {
                "token_agreement": round(result.rate, 4),
                "agreeing_tokens": result.agreeing,
                "tokens": result.tokens,
                "same_answers": result.same_answers,
                "prompts": result.prompts,
                "file_mib": round(path.stat().st_size / 2**20, 1),
                "convert_seconds": round(convert_s, 1),
                "compare_seconds": round(time.time() - t0, 1),
                "tensor_types": dict(types),
                "first_mismatches": result.mismatches[:3],
                "flip_margins": [round(g, 3) for g in flips],
            }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
