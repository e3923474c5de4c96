"""tuner-tui with a latency trace: `python bench/tui_traced.py TRACE_FILE [tuner-tui args]`.

Writes one line per event to TRACE_FILE (perf_counter seconds): `key NAME` when the terminal
driver reads a key, `pane NAME` when a pane switch starts, `frame` when a screen update has been
handed to the driver, `gc genN SECONDS` for each garbage collection over 1 ms, `poll WALL CPU`
for each poll of the monitor's run (in a worker thread). bench/tui_latency.py --trace reads it to split a key's latency into the
TUI's own time and the terminal's.
"""

from __future__ import annotations

import gc
import sys
import time

from textual.drivers import linux_driver

from tuner_tui import app as tui


def main() -> int:
    trace = open(sys.argv[1], "w", buffering=1)  # noqa: SIM115 - lives as long as the process
    process_message = linux_driver.LinuxDriver.process_message

    def traced_process_message(self, message):  # runs in the driver's input thread
        if type(message).__name__ == "Key":
            trace.write(f"{time.perf_counter():.6f} key {getattr(message, 'key', '')}\n")
        return process_message(self, message)

    linux_driver.LinuxDriver.process_message = traced_process_message

    class TracedApp(tui.TunerApp):
        def action_pane(self, pane: str, focus: bool = True) -> None:
            trace.write(f"{time.perf_counter():.6f} pane {pane}\n")
            super().action_pane(pane, focus)

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if renderable is not None:
                trace.write(f"{time.perf_counter():.6f} frame\n")

    def gc_callback(phase: str, info: dict, started: list[float] = [0.0]) -> None:  # noqa: B006 - the default list is the callback's state
        if phase == "start":
            started[0] = time.perf_counter()
        elif time.perf_counter() - started[0] > 0.001:
            trace.write(
                f"{time.perf_counter():.6f} gc gen{info['generation']} {time.perf_counter() - started[0]:.4f}\n"
            )

    gc.callbacks.append(gc_callback)
    _time_poll(trace)
    tui.TunerApp = TracedApp  # main() builds the app from the module attribute
    return tui.main(sys.argv[2:])


def _time_poll(trace) -> None:
    """`poll WALL CPU` for each of the monitor's run polls (a worker thread, every 0.5 s)."""
    from tuner_tui.watch import RunWatch

    poll = RunWatch.poll

    def timed_poll(self, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return poll(self, *args, **kwargs)
        finally:
            trace.write(f"{wall:.6f} poll {time.perf_counter() - wall:.4f} {time.thread_time() - cpu:.4f}\n")

    RunWatch.poll = timed_poll


if __name__ == "__main__":
    sys.exit(main())
