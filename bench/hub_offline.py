"""Time the Hub loader's failure paths and its import, each in a fresh interpreter.

Usage: .venv/bin/python bench/hub_offline.py [--repeat 3]
Prints a markdown table: `import core.data.hub`, and load / stream / text-corpus failures with
HF_HUB_OFFLINE=1 and with a silent endpoint (accepts connections, never answers; probe timeout 2 s).
tests/core/data/test_hub.py asserts the behaviour (one sentence, no retries); the seconds are here.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_IMPORT = """
    import json, time
    t0 = time.perf_counter()
    import core.data.hub
    print(json.dumps({"import": time.perf_counter() - t0}))
"""

_FAILURES = """
    import json, time
    from core.data import hub
    from core.errors import DataError
    out = {}
    for label, call in (
        ("load", lambda: hub.load_hub_source("AnishJoshi/nl2bash-custom")),
        ("stream", lambda: hub.stream_hub_source("westenfelder/NL2SH-ALFA", split="test")),
        ("text corpus", lambda: hub.iter_text_corpus("allenai/c4", config="en")),
    ):
        t0 = time.perf_counter()
        try:
            call()
        except DataError:
            pass
        out[label] = time.perf_counter() - t0
    print(json.dumps(out))
"""


def _run(code: str, env_extra: dict[str, str]) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_OFFLINE"))}
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: min(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    """Print the best-of-N seconds of each path."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    home = {"HF_HOME": tempfile.mkdtemp(prefix="tuner-bench-hf-")}
    rows = [("import core.data.hub", _best([_run(_IMPORT, {}) for _ in range(args.repeat)])["import"])]
    offline = _best([_run(_FAILURES, home | {"HF_HUB_OFFLINE": "1"}) for _ in range(args.repeat)])
    rows += [(f"{k}, HF_HUB_OFFLINE=1", v) for k, v in offline.items()]
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)  # never accept(): requests hang until the probe's timeout
        silent = home | {
            "HF_ENDPOINT": f"http://127.0.0.1:{server.getsockname()[1]}",
            "TUNER_HUB_PROBE_TIMEOUT": "2",
        }
        timed = _best([_run(_FAILURES, silent) for _ in range(args.repeat)])
    rows += [(f"{k}, silent endpoint", v) for k, v in timed.items()]
    print(f"| path (best of {args.repeat}) | seconds |\n|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
