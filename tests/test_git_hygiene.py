"""Git stays clean: notebooks are committed as the filter writes them, and the filter survives a missing .venv.

The filter is set up by `make setup` through scripts/install-git-filters: `sh scripts/nbstripout-filter`,
relative to the repository, not required, so `git status` / `add` / `diff` work without .venv.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
VENV = Path(sys.prefix)  # the environment running the tests holds nbstripout
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str, env=None, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)} exited {proc.returncode}: {proc.stderr}"
    return proc


def env_with(venv: Path, path: str | None = None) -> dict:
    env = {**os.environ, "CXREPORT_VENV": str(venv), "GIT_CONFIG_NOSYSTEM": "1", "HOME": os.environ.get("HOME", "/tmp")}
    if path is not None:
        env["PATH"] = path
    return env


def path_without_nbstripout() -> str:
    """PATH minus every folder holding an nbstripout (git and sh stay reachable)."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "nbstripout").exists()]
    return os.pathsep.join(dirs)


def setup_repo(repo: Path) -> None:
    """A repository set up the way `make setup` sets up a clone."""
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "scripts").mkdir(exist_ok=True)
    (repo / "notebooks").mkdir(exist_ok=True)
    for name in ("scripts/nbstripout-filter", "scripts/install-git-filters", ".gitattributes"):
        shutil.copy(ROOT / name, repo / name)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "user.name", "test")
    git(repo, "config", "commit.gpgsign", "false")
    subprocess.run(["sh", "scripts/install-git-filters"], cwd=repo, check=True, capture_output=True)


def with_jupyter_noise(nb: dict) -> dict:
    """The notebook as JupyterLab saves it after a run: outputs, counts and autosave metadata."""
    nb = json.loads(json.dumps(nb))
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python",
                                       "file_extension": ".py", "codemirror_mode": {"name": "ipython", "version": 3}}
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb["metadata"]["vscode"] = {"interpreter": {"hash": "abc"}}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 3
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
            cell["metadata"]["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00.000Z"}
            cell["metadata"]["scrolled"] = True
    return nb


@needs_git
def test_filter_config_names_no_absolute_path_and_is_not_required(tmp_path):
    repo = tmp_path / "repo"
    setup_repo(repo)
    config = git(repo, "config", "--get-regexp", r"^(filter\.nbstripout|diff\.ipynb)\.").stdout
    assert "filter.nbstripout.clean sh scripts/nbstripout-filter" in config
    assert "filter.nbstripout.required false" in config
    assert "diff.ipynb.textconv sh scripts/nbstripout-filter -t" in config
    assert str(VENV) not in config and "/bin/python" not in config


def test_makefile_installs_the_relative_filter():
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/install-git-filters" in makefile and "nbstripout --install" not in makefile
    attributes = (ROOT / ".gitattributes").read_text().split()
    assert "filter=nbstripout" in attributes and "diff=ipynb" in attributes


@pytest.fixture(scope="module")
def clean_command(tmp_path_factory) -> str:
    """The clean command `make setup` writes into .git/config."""
    repo = tmp_path_factory.mktemp("config") / "repo"
    setup_repo(repo)
    return git(repo, "config", "filter.nbstripout.clean").stdout.strip()


@needs_git
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_exactly_what_the_filter_writes(notebook, clean_command):
    """Run the clean command the git config names; its output must be the file's bytes, so git status stays clean."""
    clean = clean_command
    proc = subprocess.run(clean, shell=True, cwd=ROOT, input=notebook.read_bytes(), capture_output=True,
                          env=env_with(VENV), timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == notebook.read_bytes(), (
        f"{notebook.name} is not in the form the git filter writes; run `make strip-notebooks` "
        f"(sh scripts/nbstripout-filter on each notebook) and commit the result")


@needs_git
def test_filter_strips_outputs_and_autosave_metadata_and_keeps_what_the_suite_reads(tmp_path):
    repo = tmp_path / "repo"
    setup_repo(repo)
    source = NOTEBOOKS[1] if len(NOTEBOOKS) > 1 else NOTEBOOKS[0]
    committed = json.loads(source.read_text())
    target = repo / "notebooks" / source.name
    target.write_text(json.dumps(with_jupyter_noise(committed), indent=1) + "\n")
    env = env_with(VENV)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "notebook", env=env)
    stored = json.loads(git(repo, "show", f"HEAD:notebooks/{source.name}", env=env).stdout)
    assert not {"language_info", "widgets", "vscode"} & set(stored["metadata"])
    for key in ("kernelspec", "cxreport", "title"):
        if key in committed["metadata"]:
            assert stored["metadata"][key] == committed["metadata"][key], key
    assert [c.get("id") for c in stored["cells"]] == [c.get("id") for c in committed["cells"]]
    assert [c["metadata"].get("tags") for c in stored["cells"]] == [c["metadata"].get("tags") for c in committed["cells"]]
    for cell in stored["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
            assert not {"execution", "scrolled"} & set(cell["metadata"])
    # JupyterLab saves again with fresh outputs: nothing to commit. (`git status` may list the file
    # until it is added, as git compares sizes before running a filter; `git diff` shows nothing.)
    target.write_text(json.dumps(with_jupyter_noise(committed), indent=2) + "\n")
    assert git(repo, "diff", env=env).stdout == ""
    git(repo, "add", "-A", env=env)
    assert git(repo, "status", "--porcelain", env=env).stdout == ""


@needs_git
def test_git_keeps_working_when_the_venv_is_gone(tmp_path):
    """The old setup wrote a required filter with an absolute interpreter path: git exited 128 once .venv moved."""
    repo = tmp_path / "repo"
    setup_repo(repo)
    nb = repo / "notebooks" / NOTEBOOKS[0].name
    nb.write_bytes(NOTEBOOKS[0].read_bytes())
    git(repo, "add", "-A", env=env_with(VENV))
    git(repo, "commit", "-q", "-m", "notebook", env=env_with(VENV))

    gone = env_with(tmp_path / "moved-away-venv", path=path_without_nbstripout())
    nb.write_text(nb.read_text().replace('"cells": [', '"cells": [ ', 1))  # touch it, so git must re-run the filter
    status = git(repo, "status", "--porcelain", env=gone, check=False)
    assert status.returncode == 0, status.stderr
    assert git(repo, "diff", env=gone, check=False).returncode == 0
    added = git(repo, "add", "-A", env=gone, check=False)
    assert added.returncode == 0, added.stderr
    assert "nbstripout not found" in status.stderr + added.stderr  # it says why nothing was stripped


@needs_git
def test_the_outputs_the_tests_and_the_setup_write_are_ignored():
    """A fresh clone stays clean after `make report` and `make test`: what they write is ignored."""
    written = ["outputs/2020/index.html", "outputs/index.html", "outputs/_failed/2020/x.ipynb", ".venv/bin/python",
               ".pytest_cache/v/cache/nodeids", "lib/cxreport/__pycache__/x.pyc", "tests/__pycache__/x.pyc",
               "lib/cxreport.egg-info/PKG-INFO", "notebooks/.ipynb_checkpoints/x-checkpoint.ipynb"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(written),
                          capture_output=True, text=True)
    assert sorted(proc.stdout.split()) == sorted(written)
    source = ["lib/cxreport/build/__init__.py", "outputs/README.md", "scripts/nbstripout-filter"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(source),
                          capture_output=True, text=True)
    assert proc.stdout.split() == [], "source files must not be ignored"
