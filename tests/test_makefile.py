"""The Makefile's everyday targets, read with `make -n` (nothing is run)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> str:
    proc = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_lab_passes_allow_root_as_root_and_takes_lab_args():
    lab = [line for line in dry_run("lab", "LAB_ARGS=--no-browser --port 8899").splitlines() if "jupyter lab" in line]
    assert lab and lab[-1].endswith("--no-browser --port 8899")
    assert ("--allow-root" in lab[-1]) == (os.geteuid() == 0)


def test_test_runs_the_fast_selection_and_test_all_everything():
    test = [line for line in dry_run("test").splitlines() if "-m pytest" in line][-1]
    assert '-m "(not slow or shared_build) and not browser and not pdf"' in test and " -n 2 " in test
    test_all = [line for line in dry_run("test-all").splitlines() if "-m pytest" in line][-1]
    assert " -m " not in test_all.split("pytest", 1)[1].split(";")[0]
    user = [line for line in dry_run("test", "PYTEST_ARGS=-k survey").splitlines() if "-m pytest" in line][-1]
    assert user.split(";")[0].endswith("-k survey")


def test_install_shows_progress_and_says_what_it_does():
    makefile = (ROOT / "Makefile").read_text()
    install = [line for line in makefile.splitlines() if "pip install" in line and "-e '.[dev]'" in line]
    assert install and "--quiet" not in install[0]
    assert "installing cxreport and its dependencies" in makefile


def test_browser_deps_says_what_it_installs_and_no_test_installs_anything():
    plan = dry_run("browser-deps")
    assert "Installing Debian's chromium for the browser test (apt-get)" in plan and "apt-get update" in plan
    for test in (ROOT / "tests").glob("test_*.py"):
        if test.name != Path(__file__).name:
            assert not re.search(r"""["']apt-get["']""", test.read_text()), f"{test.name} runs apt-get; use a Makefile target"


def test_ci_runs_make_test_then_the_whole_suite():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert ci.index("step make test\n") < ci.index("step make browser-deps") < ci.index("step make test-all")
