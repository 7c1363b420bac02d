"""The reporting pipeline behind ``make report`` and ``cxreport report``.

For one year:

1. read the parameters (``params/defaults.yaml``, ``params/<YEAR>.yaml``,
   command-line overrides) and check every key is a parameter some notebook
   takes;
2. find the notebooks (``notebooks/*.ipynb``, in name order) and the input
   files each one needs (notebook metadata ``cxreport.requires``); a notebook
   whose input is absent from the data folder is skipped, with the reason;
3. validate every needed input file up front: a bad file stops the run
   before anything is written;
4. execute each notebook with papermill into a staging folder, render HTML
   and PDF, merge the notebooks' headline figures into ``metrics.json``;
5. only when everything succeeded, swap the staging folder into
   ``OUT/<YEAR>`` and refresh ``OUT/index.html``. A failing notebook stops
   the run, is kept under ``OUT/_failed/<YEAR>/`` for debugging, and the
   previous good report of the year stays untouched.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill as pm

from .inputs import CONTRACTS, InputError, fingerprint, load
from .params import ParamsError, load_params
from .render import page, render_html, render_pdf

# Parameters the pipeline itself supplies; a notebook receives those it declares.
PIPELINE_PARAMETERS = ("year", "data_dir", "tables_dir", "metrics_path")
KNOWN_FORMATS = ("html", "pdf")


class NotebookFailed(RuntimeError):
    """A notebook raised while executing; the message names the notebook, cell and error."""


@dataclass
class Notebook:
    """A report notebook of the suite, as the pipeline sees it."""

    path: Path
    title: str
    requires: list[str]
    parameters: dict

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass
class BuildResult:
    year: int
    year_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def discover(notebooks_dir: Path) -> list[Notebook]:
    """The suite's notebooks in name order, with their declared inputs and parameters."""
    found = []
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        meta = nb.metadata.get("cxreport", {})
        params = pm.inspect_notebook(str(path))
        found.append(Notebook(path, nb.metadata.get("title", path.stem), list(meta.get("requires", [])), params))
    return found


def parameters_for(notebooks: list[Notebook], params: dict) -> dict[str, dict]:
    """Split the merged parameters between notebooks; an unknown key is an error.

    Papermill only warns about a parameter a notebook does not declare, so a
    typo in params would silently change nothing; here it stops the run.
    """
    accepted = set().union(*(nb.parameters for nb in notebooks)) if notebooks else set()
    unknown = sorted(k for k in params if k not in accepted and k not in PIPELINE_PARAMETERS)
    if unknown:
        raise ParamsError(
            f"unknown parameter(s) {', '.join(unknown)}: no notebook declares them. "
            f"Parameters the notebooks take: {', '.join(sorted(accepted))}"
        )
    return {nb.name: {k: v for k, v in params.items() if k in nb.parameters} for nb in notebooks}


def validate_inputs(data_dir: Path, files: set[str]) -> dict[str, dict]:
    """Validate every input file that a notebook will read; one InputError listing all problems."""
    problems, prints = [], {}
    for name in sorted(files):
        path = Path(data_dir) / name
        try:
            if name in CONTRACTS:
                frame = load(path, CONTRACTS[name])
                prints[name] = {**fingerprint(path), "rows": len(frame)}
            else:
                prints[name] = fingerprint(path)
        except InputError as exc:
            problems.extend(exc.messages)
    if problems:
        raise InputError(problems)
    return prints


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _execute(nb: Notebook, out_path: Path, parameters: dict, failed_dir: Path) -> None:
    try:
        pm.execute_notebook(
            str(nb.path),
            str(out_path),
            parameters=parameters,
            cwd=str(nb.path.parent),
            progress_bar=sys.stderr.isatty(),
            report_mode=False,
            log_output=False,
        )
    except pm.PapermillExecutionError as exc:
        failed_dir.mkdir(parents=True, exist_ok=True)
        kept = failed_dir / out_path.name
        if out_path.exists():
            shutil.copy2(out_path, kept)
        # papermill counts the injected-parameters cell; cell_index is the executed notebook's.
        raise NotebookFailed(
            f"notebook {nb.path.name} failed in cell {exc.cell_index} (execution {exc.exec_count}): "
            f"{exc.ename}: {exc.evalue}\n  the executed notebook is kept for debugging at {kept}"
        ) from None


def merge_metrics(fragments: list[Path]) -> dict:
    """Merge the notebooks' metric fragments (each a dict of sections) into one dict."""
    merged: dict = {}
    for frag in sorted(fragments):
        for section, values in json.loads(frag.read_text(encoding="utf-8")).items():
            merged.setdefault(section, {}).update(values) if isinstance(values, dict) else merged.__setitem__(section, values)
    return merged


def build_year(
    root: Path,
    year: int,
    data_dir: Path,
    out_dir: Path,
    formats: tuple[str, ...] = KNOWN_FORMATS,
    overrides: dict | None = None,
    only: list[str] | None = None,
) -> BuildResult:
    """Build every report of ``year``; see the module docstring for the steps.

    Raises :class:`ParamsError` or :class:`InputError` before writing
    anything, or :class:`NotebookFailed` after cleaning up the staging folder.
    """
    started = time.perf_counter()
    root, data_dir, out_dir = Path(root).resolve(), Path(data_dir).resolve(), Path(out_dir).resolve()
    bad = [f for f in formats if f not in KNOWN_FORMATS]
    if bad:
        raise ParamsError(f"unknown format(s) {', '.join(bad)}; expected some of {', '.join(KNOWN_FORMATS)}")
    if not data_dir.is_dir():
        raise InputError([f"data folder {data_dir} does not exist"])
    params = load_params(root / "params", year, overrides)
    notebooks = discover(root / "notebooks")
    if only:
        notebooks = [nb for nb in notebooks if nb.name in only]
    per_notebook = parameters_for(notebooks, params)

    result = BuildResult(year, out_dir / str(year))
    runnable = []
    for nb in notebooks:
        missing = [f for f in nb.requires if not (data_dir / f).is_file()]
        if missing:
            result.skipped[nb.name] = f"input {', '.join(missing)} not found in {data_dir}"
            _log(f"skip  {nb.name}: {result.skipped[nb.name]}")
        else:
            runnable.append(nb)
    inputs = validate_inputs(data_dir, {f for nb in runnable for f in nb.requires})

    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{year}-{uuid.uuid4().hex[:8]}"
    (staging / "tables").mkdir(parents=True)
    metrics_dir = staging / ".metrics"
    reports = []
    try:
        for i, nb in enumerate(runnable, 1):
            t0 = time.perf_counter()
            _log(f"[{i}/{len(runnable)}] {nb.name}: executing")
            supplied = {
                "year": int(year),
                "data_dir": str(data_dir),
                "tables_dir": str(staging / "tables"),
                "metrics_path": str(metrics_dir / f"{nb.name}.json"),
            }
            parameters = {**per_notebook[nb.name], **{k: v for k, v in supplied.items() if k in nb.parameters}}
            executed = staging / f"{nb.name}.ipynb"
            _execute(nb, executed, parameters, out_dir / "_failed" / str(year))
            entry = {"name": nb.name, "title": nb.title, "ipynb": executed.name}
            if "html" in formats or "pdf" in formats:
                _log(f"[{i}/{len(runnable)}] {nb.name}: rendering {', '.join(formats)}")
                text = render_html(executed, staging / f"{nb.name}.html")
                if "html" in formats:
                    entry["html"] = f"{nb.name}.html"
                if "pdf" in formats:
                    render_pdf(text, staging / f"{nb.name}.pdf", staging)
                    entry["pdf"] = f"{nb.name}.pdf"
                if "html" not in formats:
                    (staging / f"{nb.name}.html").unlink()
            reports.append(entry)
            result.built.append(nb.name)
            _log(f"[{i}/{len(runnable)}] {nb.name}: done in {time.perf_counter() - t0:.1f}s")

        metrics = merge_metrics(list(metrics_dir.glob("*.json"))) if metrics_dir.exists() else {}
        run = {
            "year": int(year),
            "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
            "data_dir": str(data_dir),
            "inputs": inputs,
            "reports": reports,
            "skipped": result.skipped,
        }
        (staging / "metrics.json").write_text(json.dumps({"run": run, **metrics}, indent=2, sort_keys=True), encoding="utf-8")
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if not any((staging / "tables").iterdir()):
            (staging / "tables").rmdir()
        write_year_index(staging, run)
        _swap_into_place(staging, result.year_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_site_index(out_dir)
    result.seconds = time.perf_counter() - started
    _log(f"built {len(result.built)} report(s) for {year} in {result.seconds:.1f}s -> {result.year_dir}")
    return result


def _swap_into_place(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` with two renames, so a reader never sees a half-written year."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_year_index(year_dir: Path, run: dict) -> None:
    """``OUT/<YEAR>/index.html``: the year's reports, skipped reports and the data used."""
    items = []
    for r in run["reports"]:
        links = " · ".join(f'<a href="{html.escape(r[k])}">{k.upper()}</a>' for k in ("html", "pdf") if k in r)
        items.append(f"<li><strong>{html.escape(r['title'])}</strong> {links}</li>")
    for name, why in run["skipped"].items():
        items.append(f'<li class="cx-skipped"><strong>{html.escape(name)}</strong>: skipped, {html.escape(why)}</li>')
    data_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{fp.get('rows', '')}</td><td><code>{fp['sha256'][:12]}</code></td></tr>"
        for name, fp in run["inputs"].items()
    )
    tables = sorted(p.name for p in (year_dir / "tables").glob("*.csv")) if (year_dir / "tables").exists() else []
    table_links = "".join(f'<li><a href="tables/{html.escape(t)}">{html.escape(t)}</a></li>' for t in tables)
    body = (
        f'<div class="cx-index"><h1>Reports {run["year"]}</h1>'
        f'<p class="cx-muted">Built {html.escape(run["generated_at"])}. Headline figures: <a href="metrics.json">metrics.json</a>.</p>'
        f"<h2>Reports</h2><ul>{''.join(items)}</ul>"
        + (f"<h2>Tables</h2><ul>{table_links}</ul>" if table_links else "")
        + f"<h2>Data used</h2><table><thead><tr><th>File</th><th>Rows</th><th>SHA-256</th></tr></thead><tbody>{data_rows}</tbody></table>"
        '<p><a href="../index.html">All years</a></p></div>'
    )
    (year_dir / "index.html").write_text(page(f"cxreport · {run['year']}", body), encoding="utf-8")


def write_site_index(out_dir: Path) -> None:
    """``OUT/index.html``: every year built, newest first, written atomically."""
    years = []
    for d in sorted((p for p in Path(out_dir).iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name), reverse=True):
        metrics = d / "metrics.json"
        run = json.loads(metrics.read_text(encoding="utf-8")).get("run", {}) if metrics.exists() else {}
        n = len(run.get("reports", []))
        skipped = len(run.get("skipped", {}))
        years.append(
            f'<li><a href="{d.name}/index.html"><strong>{d.name}</strong></a>: {n} report(s)'
            + (f", {skipped} skipped" if skipped else "")
            + f' <span class="cx-muted">built {html.escape(run.get("generated_at", "?"))}</span></li>'
        )
    body = '<div class="cx-index"><h1>Customer-experience reports</h1><ul>' + "".join(years) + "</ul></div>"
    tmp = Path(out_dir) / f".index-{uuid.uuid4().hex[:8]}.html"
    tmp.write_text(page("cxreport · all years", body), encoding="utf-8")
    tmp.replace(Path(out_dir) / "index.html")
