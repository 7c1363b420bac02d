"""One build at a time per output folder, and clean stops.

- :class:`RunLock`: ``OUT/.cxreport.lock``, held with ``flock`` for the whole
  run. The kernel releases it when the process dies, even by ``kill -9``, so a
  stale lock never blocks the next run; a live one stops the second run with
  :class:`RunLocked`, naming the process that holds it.
- Leftovers: the run that takes the lock removes staging folders
  (``OUT/.staging-*``, ``OUT/.old-*``) that a killed run left, and ends the
  killed run's worker processes and kernels, found by the run token every
  process of a run carries in its environment (``CXREPORT_RUN_TOKEN``). A
  year folder a run killed between the two renames of its swap had set aside
  (``OUT/.old-<YEAR>-*``, no ``OUT/<YEAR>``) is put back first
  (:func:`cxreport.build.stage.recover_interrupted_swaps`).
- Signals: :func:`stop_on_signals` turns SIGTERM and SIGINT into
  :class:`Interrupted` after ending every child process (workers and their
  kernels), so the run's ``except`` clauses remove the staging folder; the
  command line then exits with 128 + the signal number (130, 143).
- Workers ask the kernel to kill them when the run's process dies
  (``PR_SET_PDEATHSIG``, Linux), so a ``kill -9`` of the run does not leave
  them writing into an abandoned staging folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import sys
import uuid
from pathlib import Path

import psutil

LOCK_NAME = ".cxreport.lock"
TOKEN_VARIABLE = "CXREPORT_RUN_TOKEN"
LEFTOVER_PATTERNS = (".staging-*", ".old-*", ".index-*.html")


class RunLocked(RuntimeError):
    """Another run is building into the same output folder."""


class Interrupted(BaseException):
    """The run was stopped by SIGTERM or SIGINT; ``exit_code`` is 128 + the signal number."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


class RunLock:
    """Exclusive lock on an output folder for one run (context manager).

    On entry: takes the lock (or raises :class:`RunLocked`), ends the processes
    of a run that was killed while holding it, and removes leftover staging
    folders. The lock file records this run's process id, start time and
    token; every child process inherits the token through the environment.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / LOCK_NAME
        self.token = uuid.uuid4().hex
        self._fh = None

    def __enter__(self) -> "RunLock":
        self.out_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = _read_holder(fh.read())
            fh.close()
            raise RunLocked(
                f"another cxreport run is building into {self.out_dir}: process {holder.get('pid', '?')} "
                f"({holder.get('command', 'cxreport')}), started {holder.get('started', '?')}. "
                "Wait for it to finish, or stop it first."
            ) from None
        fh.seek(0)
        previous = _read_holder(fh.read())
        if previous.get("token"):
            end_processes_of_run(previous["token"])
        from .build.stage import recover_interrupted_swaps

        recover_interrupted_swaps(self.out_dir)  # a year renamed aside by a run killed mid-swap is put back first
        remove_leftovers(self.out_dir)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "started": dt.datetime.now().isoformat(timespec="seconds"),
                             "command": " ".join(sys.argv[:3]), "token": self.token}))
        fh.flush()
        os.environ[TOKEN_VARIABLE] = self.token
        self._fh = fh
        return self

    def __exit__(self, *exc) -> None:
        os.environ.pop(TOKEN_VARIABLE, None)
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()  # a clean exit leaves no token behind
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _read_holder(text: str) -> dict:
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {}


def remove_leftovers(out_dir: Path) -> list[Path]:
    """Remove staging folders and temporary files a killed run left in ``out_dir``; returns what was removed."""
    removed = []
    for pattern in LEFTOVER_PATTERNS:
        for path in Path(out_dir).glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def end_processes_of_run(token: str) -> int:
    """End every process (worker or kernel) that carries ``token`` in its environment; returns how many."""
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(TOKEN_VARIABLE) == token:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return _end(found)


def end_children() -> int:
    """End every descendant of this process (pool workers and the kernels they started)."""
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return 0
    return _end(children)


def _end(procs: list) -> int:
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=5)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    return len(procs)


@contextlib.contextmanager
def stop_on_signals():
    """Within the block, SIGTERM and SIGINT end the child processes and raise :class:`Interrupted`."""

    def handler(signum, frame):
        signal.signal(signum, signal.SIG_IGN)  # a second signal must not interrupt the clean-up
        end_children()
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def die_with_parent() -> None:
    """Worker initialiser: the kernel sends this process SIGKILL when the run's process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the call took effect
            os._exit(1)
