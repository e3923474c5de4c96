"""Export an SVG screenshot of each tuner-tui pane into docs/screenshots/ (what docs/tui.md shows).

Usage: .venv/bin/python bench/tui_screenshots.py [--runs-dir DIR] [--size 120x36]
Uses the runs in --runs-dir (default: the recorded fixture runs of the TUI tests).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def shoot(runs_dir: Path, size: tuple[int, int], out: Path) -> list[Path]:
    from tuner_tui.app import TunerApp

    written = []
    app = TunerApp(runs_dir=runs_dir, start_pane="runs")
    async with app.run_test(size=size) as pilot:
        for key, name in (
            ("5", "runs"),
            ("3", "monitor"),
            ("1", "data"),
            ("2", "presets"),
            ("4", "playground"),
        ):
            if name == "monitor":
                await pilot.press("5")
                await pilot.pause(0.5)
                await pilot.press("enter")
            else:
                await pilot.press(key)
            await pilot.pause(2.0)
            path = out / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
            written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-dir", default=str(ROOT / "tests" / "tuner_tui" / "fixtures" / "run_dirs"))
    ap.add_argument("--size", default="120x36")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(Path(args.runs_dir), (w, h), out)):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
