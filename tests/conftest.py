"""Shared fixtures, the test split behind `make test` / `make test-all`, and the clean-tree guard.

Markers (registered in pyproject.toml):
- ``slow``: tests that run builds, notebooks or the command-line tool of their own (seconds to
  minutes each); set by their module, or here on any other test whose code or fixtures call
  ``run_cli``, ``cxreport.cli`` or papermill's ``execute_notebook``;
- ``browser``: the headless-Chromium check of the built site (needs `make browser-deps`);
- ``shared_build``: set here, on every test that reads the one shared sample build
  (``built_sample`` / ``year_dir``) and runs nothing else heavy. Such a test stays in
  `make test` even when its module is marked ``slow``;
- ``pdf``: reads the shared build's PDFs. The shared build renders PDF only when such a test is
  selected (``built_formats`` says what it rendered).

`make test` runs ``-m "(not slow or shared_build) and not browser and not pdf"``: the unit and
report-model tests plus one end-to-end build (HTML); `make test-all` runs everything (CI).
"""

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_YEAR = 2020
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# A fixture or test whose code mentions one of these runs a build, a notebook or a kernel of its
# own, so it is not a cheap reader of the shared build.
_OWN_WORK = ("run_cli", "execute_notebook", "papermill", "subprocess", "cxreport.cli", "build_year", "run_pipeline")
# A test whose code calls one of these starts the command-line tool, papermill or a build in a process of its own.
_OWN_BUILD = ("run_cli(", "execute_notebook(", '"cxreport.cli"', "Popen(")
# The shared fixtures themselves (they are paid for once per session).
_SHARED = {"built_sample", "built_formats", "year_dir", "root", "tmp_path", "tmp_path_factory"}


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `cxreport report` as `make report` does, capturing its output."""
    cmd = [sys.executable, "-m", "cxreport.cli", "report", "--root", str(root), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=1800)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


class SharedBuild:
    """The one shared sample build of a test run, in a folder every pytest-xdist worker of the run sees.

    It starts in the background as soon as the tests are collected (:func:`pytest_collection_finish`),
    by whichever process comes first (a file lock), so the unit tests run meanwhile; the tests that
    read it are collected last, and wait for it (:meth:`result`). The build's notebooks run in
    kernels of their own: the unit tests and the build share the cores.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.out, self.log, self.rc = folder / "out", folder / "build.log", folder / "build.rc"
        self.proc: subprocess.Popen | None = None

    @classmethod
    def of(cls, config) -> "SharedBuild":
        base = config._tmp_path_factory.getbasetemp()
        folder = (base.parent if hasattr(config, "workerinput") else base) / "shared_build"
        folder.mkdir(exist_ok=True)
        return cls(folder)

    @property
    def formats(self) -> tuple[str, ...]:
        """What the build renders: HTML, and PDF when a selected test reads PDFs (marker ``pdf``)."""
        return tuple((self.folder / "formats").read_text().split(","))

    def start_once(self, pdf: bool = True) -> None:
        """Start the build unless a process of this run has (it writes ``started`` under the lock)."""
        import fcntl

        with open(self.folder / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (self.folder / "started").exists():
                return
            formats = "html,pdf" if pdf else "html"
            (self.folder / "formats").write_text(formats)
            cmd = [sys.executable, "-m", "cxreport.cli", "report", "--root", str(ROOT), "--year", str(SAMPLE_YEAR),
                   "--data", str(ROOT / "data" / "sample"), "--out", str(self.out), "--formats", formats]
            # the wrapper writes the exit code once the build has ended, for the other workers to read
            wrapper = ("import os, subprocess, sys; log, rc, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]; "
                       "code = subprocess.call(cmd, stdout=open(log, 'w'), stderr=subprocess.STDOUT); "
                       "open(rc + '.tmp', 'w').write(str(code)); os.replace(rc + '.tmp', rc)")
            self.proc = subprocess.Popen([sys.executable, "-c", wrapper, str(self.log), str(self.rc), *cmd], cwd=ROOT,
                                         start_new_session=True)
            (self.folder / "started").write_text(str(self.proc.pid))

    def result(self, timeout: float = 1800) -> subprocess.CompletedProcess:
        """Wait for the build; its output (stdout and stderr together) and exit code."""
        import time

        deadline = time.monotonic() + timeout
        while not self.rc.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the shared build did not finish in {timeout:.0f} s (log: {self.log})")
            time.sleep(0.5)
        output = self.log.read_text(encoding="utf-8", errors="replace")
        return subprocess.CompletedProcess(["cxreport", "report"], int(self.rc.read_text()), stdout=output, stderr=output)

    def stop(self) -> None:
        """End a build this process started and that is still running (a run stopped early: -x, Ctrl-C)."""
        import signal

        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=60)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)


def _uses_shared_build(item) -> bool:
    return bool({"built_sample", "year_dir"} & set(getattr(item, "fixturenames", ())))


def pytest_collection_finish(session):
    if session.config.option.collectonly or not any(_uses_shared_build(item) for item in session.items):
        return
    build = SharedBuild.of(session.config)
    build.start_once(pdf=any(item.get_closest_marker("pdf") for item in session.items))
    session.config._cxreport_build = build


@pytest.fixture(scope="session")
def built_sample(request):
    """One full build of the sample year (every notebook; HTML, and PDF when a selected test is marked
    ``pdf``: `make test-all`), shared by all end-to-end tests.

    Started in the background when the tests are collected (:class:`SharedBuild`). Returns
    (out_dir, completed_process); the year's reports are in out_dir / "2020".
    """
    build = getattr(request.config, "_cxreport_build", None) or SharedBuild.of(request.config)
    build.start_once()
    proc = build.result()
    assert proc.returncode == 0, proc.stderr
    return build.out, proc


@pytest.fixture(scope="session")
def built_formats(request, built_sample) -> tuple[str, ...]:
    """The formats the shared build rendered: ("html",) or ("html", "pdf")."""
    return (getattr(request.config, "_cxreport_build", None) or SharedBuild.of(request.config)).formats


@pytest.fixture(scope="session")
def year_dir(built_sample) -> Path:
    """The sample year's folder of the shared build (OUT/2020)."""
    return built_sample[0] / str(SAMPLE_YEAR)


# --- the test split --------------------------------------------------------------------------

def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _reads_only_the_shared_build(item) -> bool:
    """True when the test uses the shared build and neither it nor its fixtures do heavy work of their own."""
    names = set(getattr(item, "fixturenames", ()))
    if "built_sample" not in names:
        return False
    if any(word in _source(getattr(item, "function", None)) for word in _OWN_WORK):
        return False
    info = getattr(item, "_fixtureinfo", None)
    for name, defs in (info.name2fixturedefs.items() if info else ()):
        if name in _SHARED:
            continue
        for fixturedef in defs:
            if any(word in _source(fixturedef.func) for word in _OWN_WORK):
                return False
    return True


def _runs_the_suite_itself(item) -> bool:
    """True when the test or one of its fixtures starts the command-line tool, papermill or a build."""
    if any(word in _source(getattr(item, "function", None)) for word in _OWN_BUILD):
        return True
    info = getattr(item, "_fixtureinfo", None)
    return any(any(word in _source(fixturedef.func) for word in _OWN_BUILD)
               for name, defs in (info.name2fixturedefs.items() if info else ()) if name not in _SHARED
               for fixturedef in defs)


def pytest_collection_modifyitems(config, items):
    # The tests of the shared build run last (in each pytest-xdist worker too): the build started in
    # the background at collection has the unit tests' time to finish.
    items.sort(key=_uses_shared_build)
    for item in items:
        if _reads_only_the_shared_build(item):
            item.add_marker(pytest.mark.shared_build)
        elif _runs_the_suite_itself(item) and not item.get_closest_marker("slow"):
            # A process of the command-line tool costs seconds to start even when it stops at
            # validation: these run in `make test-all`, like the modules marked slow.
            item.add_marker(pytest.mark.slow)


# --- the clean-tree guard: tests write only under tmp_path ------------------------------------

def _tree_status() -> set[str] | None:
    """`git status` of the repository (untracked and modified files, ignored ones excluded), or None."""
    try:
        # The notebook filter is swapped for `cat`: the same answer before and after, without
        # starting nbstripout for every notebook edited in the working tree.
        proc = subprocess.run(["git", "-c", "filter.nbstripout.clean=cat", "-c", "filter.nbstripout.required=false",
                               "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return set(proc.stdout.splitlines()) if proc.returncode == 0 else None


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        session.config._cxreport_tree_before = _tree_status()


def pytest_sessionfinish(session, exitstatus):
    build = getattr(session.config, "_cxreport_build", None)
    if build is not None:
        if exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop:
            build.stop()  # a run stopped early leaves no build behind
        elif build.proc is not None and build.proc.poll() is None:
            build.result()  # another worker may still read it
    before = getattr(session.config, "_cxreport_tree_before", None)
    if before is None:
        return
    after = _tree_status()
    new = sorted((after or set()) - before)
    session.config._cxreport_tree_new = new
    if new and IN_CI and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    new = getattr(config, "_cxreport_tree_new", None)
    if new:
        terminalreporter.section("files written inside the repository", sep="=", red=True)
        terminalreporter.write_line("The test run changed `git status` (tests must write under tmp_path only):")
        for line in new[:30]:
            terminalreporter.write_line(f"  {line}")
        terminalreporter.write_line("This fails the run in CI (CI=true); locally it may also be your own edits.")


# --- the engines the ledger tests run on ------------------------------------------------------

@pytest.fixture(scope="session")
def engine_pool():
    """The engines started for the tests, one per kind and session: a Spark session takes seconds to start."""
    started = {}
    yield started
    if "spark" in started:
        started["spark"].con.disconnect()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=[pytest.mark.slow, pytest.mark.spark])])
def ledger_engine(request, engine_pool):
    """The engine a hand-computed ledger test runs on, in use for the test: DuckDB, and Spark local (slow, spark).

    `make test` deselects the Spark cases (they are marked slow); `make test-all` (CI) runs both.
    """
    from cxreport import engine

    if request.param not in engine_pool:
        engine_pool[request.param] = engine.connect(request.param)
    with engine.use(engine_pool[request.param]) as eng:
        yield eng
