"""What a build tells the person running it: log records of the ``cxreport`` logger, and a progress display.

- On a terminal: a live progress bar (rich) with the count of notebook runs,
  the reports running now and an ETA; log lines print above it.
- Elsewhere (a pipe, CI, a log file): plain log lines, one per finished
  notebook run, with the count and an ETA, and no live bar.
- Reused reports get one summary line, not one line each; ``--verbose``
  (DEBUG) adds one line per job, ``--quiet`` shows errors only.
"""

from __future__ import annotations

import logging
import sys
import time

from rich.console import Console

LOGGER_NAME = "cxreport"
log = logging.getLogger(LOGGER_NAME)


def console() -> Console:
    """The console on this process's current stderr (a new one each time, so a redirected stderr is honoured)."""
    return Console(stderr=True, file=sys.stderr)


def setup_logging(level: int = logging.INFO, stream=None) -> logging.Handler:
    """Send the ``cxreport`` logger's records at ``level`` and above to stderr (or ``stream``); returns the handler.

    On a terminal the records go through rich, so they print above a live
    progress bar; elsewhere they are plain lines, exactly the message.
    """
    stream = stream if stream is not None else sys.stderr
    for old in list(log.handlers):
        if getattr(old, "_cxreport", False):
            log.removeHandler(old)
    term = Console(stderr=True, file=stream)
    if term.is_terminal:
        from rich.highlighter import NullHighlighter
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=term, show_time=False, show_path=False, show_level=False,
                                               markup=False, highlighter=NullHighlighter(), rich_tracebacks=False)
    else:
        handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._cxreport = True  # type: ignore[attr-defined]
    handler._console = term  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    return handler


def _eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Progress of one batch of notebook runs (context manager).

    ``live`` (a rich bar) when the ``cxreport`` log goes to a terminal at INFO
    or below; otherwise each finished run is one log line
    ``[k/n] id: done in 3.2s, ETA 40s``.
    """

    def __init__(self, total: int, workers: int):
        self.total, self.workers, self.done = total, workers, 0
        self.started = time.perf_counter()
        handler_console = next((getattr(h, "_console", None) for h in log.handlers if getattr(h, "_console", None)), None)
        self.live = bool(handler_console is not None and handler_console.is_terminal and log.isEnabledFor(logging.INFO))
        self._bar = None
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                     console=handler_console, transient=True)
            self._task = self._bar.add_task("starting", total=total)

    def __enter__(self) -> Progress:
        log.info(f"run   {self.total} notebook(s) on {self.workers} worker(s)")
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def eta(self) -> float | None:
        """Seconds left, from the mean time per finished run so far (None before the first one)."""
        if not self.done:
            return None
        return (time.perf_counter() - self.started) / self.done * (self.total - self.done)

    def running(self, ids: list[str]) -> None:
        """The jobs running now: shown as the bar's description."""
        if self._bar is not None:
            shown = ", ".join(ids[:3]) + (f" +{len(ids) - 3}" if len(ids) > 3 else "")
            self._bar.update(self._task, description=shown or "finishing")

    def finished(self, job_id: str, seconds: float, error: str | None = None) -> None:
        self.done += 1
        eta = self.eta()
        tail = f", ETA {_eta(eta)}" if eta and self.done < self.total else ""
        if error:
            log.error(f"[{self.done}/{self.total}] {job_id}: FAILED ({error})")
        else:
            # The live bar shows the count already: a line per run only with --verbose there.
            log.log(logging.DEBUG if self.live else logging.INFO,
                    f"[{self.done}/{self.total}] {job_id}: done in {seconds:.1f}s{tail}")
        if self._bar is not None:
            self._bar.update(self._task, advance=1)


def reused_one(job_id: str) -> None:
    """A job whose outputs were reused: a line only with ``--verbose``."""
    log.debug(f"reuse {job_id}: inputs unchanged since the last build")


def reused(ids: list[str]) -> None:
    """One summary line for every job of the run whose outputs were reused."""
    if ids:
        reports = sorted({i.split("/", 1)[0] for i in ids})
        log.info(f"reuse {len(ids)} notebook run(s) of {len(reports)} report(s), inputs unchanged since the last build: "
                 f"{', '.join(reports)}")
