"""The command line as its users expect: `python -m cxreport`, `--version`, help on every option, any working folder."""

import subprocess
import sys

from cxreport import __version__
from cxreport.cli import _parser


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cxreport", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_python_m_cxreport_and_version(tmp_path):
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"cxreport {__version__}"


def test_every_option_has_help_text():
    parser = _parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"cxreport {name} {action.option_strings[0]} has no help text"


def test_relative_data_and_out_resolve_against_root(root, tmp_path):
    # From another folder: the params are found under --root (a bad setting is reported as such),
    proc = run("report", "--root", str(root), "--year", "2020", "--set", "confidence=abc", cwd=tmp_path)
    assert proc.returncode == 2 and "setting confidence: 'abc'" in proc.stderr
    # and a relative --data is the project's folder, not the working folder's.
    proc = run("report", "--root", str(root), "--year", "2020", "--data", "no/such/folder", cwd=tmp_path)
    assert proc.returncode == 2 and f"data folder {root / 'no/such/folder'} does not exist" in proc.stderr
