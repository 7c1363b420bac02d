import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_YEAR = 2020


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `cxreport report` as `make report` does, capturing its output."""
    cmd = [sys.executable, "-m", "cxreport.cli", "report", "--root", str(root), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=1800)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory):
    """One full build of the sample year (every notebook, HTML and PDF), shared by all end-to-end tests.

    Returns (out_dir, completed_process); the year's reports are in out_dir / "2020".
    """
    out = tmp_path_factory.mktemp("out")
    proc = run_cli(ROOT, "--year", str(SAMPLE_YEAR), "--data", str(ROOT / "data" / "sample"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


@pytest.fixture(scope="session")
def year_dir(built_sample) -> Path:
    """The sample year's folder of the shared build (OUT/2020)."""
    return built_sample[0] / str(SAMPLE_YEAR)
