"""The app's side of exports and merges: start one job at a time in a worker, tell the Runs pane each line.

The app hands ExportRequested/MergeRequested here; progress goes to the Runs pane as JobUpdate
messages (thread-safe to post), the end also as a notification wherever the user is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuner_tui import jobs
from tuner_tui.messages import ExportRequested, JobUpdate, MergeRequested


class JobControl:
    """Runs `tuner export`/`tuner merge` for the app, one at a time; a second request is refused."""

    def __init__(self, app: Any, runs_pane: Callable[[], Any]) -> None:
        self.app = app
        self._runs_pane = runs_pane
        self.job: jobs.Job | None = None

    @property
    def runs_pane(self) -> Any:
        return self._runs_pane()

    def export(self, m: ExportRequested) -> None:
        """Start `tuner export` for the request."""
        what = m.fmt + (f"-{m.quant}" if m.quant else "")
        argv = jobs.export_argv(
            m.run_dir, m.fmt, quant=m.quant, ollama=m.ollama, force=m.force, root=self.app.settings.runs_root
        )
        self.start(jobs.Job("export", f"export {what} of {m.run_dir.name}", argv))

    def merge(self, m: MergeRequested) -> None:
        """Start `tuner merge` for the request."""
        argv = jobs.merge_argv(
            m.runs,
            m.out,
            method=m.method,
            weights=m.weights,
            density=m.density,
            force=m.force,
            root=self.app.settings.runs_root,
        )
        self.start(jobs.Job("merge", f"merge into {m.out}", argv))

    def start(self, job: jobs.Job) -> None:
        """Run the job in a worker thread, unless one is still running (refused in one line)."""
        if self.job is not None and self.job.running:
            self.app.notify(
                f"{self.job.label} is still running: start this when it has finished", severity="warning"
            )
            return
        self.job = job
        self.runs_pane.post_message(JobUpdate(job))
        self.app.notify(f"{job.label}: started")
        self.app.run_worker(lambda: self._run(job), thread=True, group="job", exit_on_error=False)

    def _run(self, job: jobs.Job) -> None:
        """(worker) Follow the command to its end."""
        try:
            jobs.run_job(job, lambda j: self.runs_pane.post_message(JobUpdate(j)))
        except Exception as e:  # a broken pipe or decoding error must still end the job visibly
            job.lines.append(f"error: {e}")
            job.returncode = job.returncode if job.returncode is not None else 1
            self.runs_pane.post_message(JobUpdate(job))
        self.app.call_from_thread(self._finished, job)

    def _finished(self, job: jobs.Job) -> None:
        if job.ok:
            self.app.notify(f"{job.label}: done → {job.result()}", timeout=10)
        else:
            self.app.notify(f"{job.label} failed: {job.result()}", severity="error", timeout=15)
        self.runs_pane.refresh_runs()  # a merge is a new run; an export is a new playground choice

    def stop(self) -> None:
        """Interrupt a running job (the app is quitting)."""
        if self.job is not None and self.job.running:
            jobs.interrupt(self.job)
