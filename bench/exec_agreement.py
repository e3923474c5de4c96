"""Does the execution rule agree with a person? A labelled sample of prediction/reference pairs.

  sample   draw 100 pairs whose prediction differs from the reference (and alternatives) as a string
           from scored predictions files (`tuner eval --score … --exec` output): up to half that the
           rule calls right, then those that ran (exit 0) but were judged different, then a seeded
           draw of the rest; writes PAIRS.jsonl without the rule's verdicts (for blind
           labelling) and PAIRS.rule.json (the verdicts, kept apart)
  compare  read the labels (one JSON per line: id, label "right"/"wrong", note) and print the
           agreement: overall, when the person says right, when the person says wrong

Usage:
  .venv/bin/python bench/exec_agreement.py sample OUT_PAIRS.jsonl SCORED.jsonl [SCORED.jsonl …] [--n 100]
  .venv/bin/python bench/exec_agreement.py compare bench/data/exec_agreement_pairs.jsonl bench/data/exec_agreement_labels.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sample(out: Path, scored: list[Path], n: int) -> int:
    """Write the blind pairs file and the rule's verdicts beside it."""
    seen: set[tuple[str, str]] = set()
    right, ran, rest = [], [], []
    for path in scored:
        for r in _read(path):
            v = r.get("exec") or {}
            cmd = (r.get("command") or "").strip()
            key = (str(r.get("row_id")), cmd)
            # string matches are right under any rule: only pairs that differ as strings test this one
            if v.get("right") is None or not cmd or key in seen or r.get("normalized_match"):
                continue
            seen.add(key)
            item = {
                "instruction": r["instruction"],
                "fixture": v.get("fixture"),
                "reference": r["reference"],
                "alternatives": r.get("alternatives") or [],
                "prediction": cmd,
                "_rule": bool(v["right"]),
                "_reason": v.get("reason"),
                "_source": path.name,
            }
            (right if v["right"] else ran if v.get("exit") == 0 else rest).append(item)
    rng = random.Random(0)
    for group in (right, ran, rest):
        rng.shuffle(group)
    picked = right[: n // 2]
    picked += ran[: (n - len(picked)) * 2 // 3]
    picked += rest[: n - len(picked)]
    rng.shuffle(picked)
    verdicts = {}
    with open(out, "w") as f:
        for i, item in enumerate(picked, 1):
            pid = f"p{i:03d}"
            verdicts[pid] = {k[1:]: item.pop(k) for k in ("_rule", "_reason", "_source")}
            f.write(json.dumps({"id": pid, **item}, ensure_ascii=False) + "\n")
    out.with_suffix(".rule.json").write_text(json.dumps(verdicts, indent=1) + "\n")
    print(f"{len(picked)} pairs: {sum(v['rule'] for v in verdicts.values())} the rule calls right → {out}")
    return 0


def compare(pairs: Path, labels: Path) -> int:
    """Agreement of the rule's verdicts with the labels, as a Markdown table."""
    rule = json.loads(pairs.with_suffix(".rule.json").read_text())
    human = {r["id"]: r["label"] == "right" for r in _read(labels)}
    ids = sorted(set(rule) & set(human))
    both_right = sum(rule[i]["rule"] and human[i] for i in ids)
    both_wrong = sum(not rule[i]["rule"] and not human[i] for i in ids)
    human_right = sum(human[i] for i in ids)
    human_wrong = len(ids) - human_right
    print(
        "| pairs labelled | agree | person says right: rule says right | person says wrong: rule says wrong |"
    )
    print("|---|---|---|---|")
    pct = lambda a, b: f"{100 * a / b:.0f}% ({a}/{b})" if b else "–"  # noqa: E731
    print(
        f"| {len(ids)} | {pct(both_right + both_wrong, len(ids))} | {pct(both_right, human_right)} | "
        f"{pct(both_wrong, human_wrong)} |"
    )
    print("\ndisagreements:")
    for i in ids:
        if rule[i]["rule"] != human[i]:
            p = next(r for r in _read(pairs) if r["id"] == i)
            note = next((r.get("note", "") for r in _read(labels) if r["id"] == i), "")
            print(
                f"- {i}: rule {'right' if rule[i]['rule'] else 'wrong'} ({rule[i]['reason']}), person "
                f"{'right' if human[i] else 'wrong'} — `{p['prediction']}` vs `{p['reference']}` — {note}"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    """sample or compare."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="phase", required=True)
    s = sub.add_parser("sample")
    s.add_argument("out", type=Path)
    s.add_argument("scored", type=Path, nargs="+")
    s.add_argument("--n", type=int, default=100)
    c = sub.add_parser("compare")
    c.add_argument("pairs", type=Path)
    c.add_argument("labels", type=Path)
    args = ap.parse_args(argv)
    if args.phase == "sample":
        return sample(args.out, args.scored, args.n)
    return compare(args.pairs, args.labels)


if __name__ == "__main__":
    raise SystemExit(main())
