"""The site's own pages: the page frame of every report, the year index and the index of all years.

Every page comes from a Jinja2 template (``templates/*.j2``) with autoescaping
on, so text from the data (partner names, labels, error messages) is always
shown as text. Every page carries a Content-Security-Policy that forbids
loading anything from outside the page: no script, no remote image, font or
style, even if markup were to slip through.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STYLESHEET = TEMPLATES / "report.css"
# Nothing from outside: images only inline (data:), styles only the inline stylesheet, no scripts at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(title: str, body: str, subtitle: str = "") -> str:
    """A complete, self-contained HTML page in the house style; ``body`` is trusted HTML, the rest is escaped."""
    return _env.get_template("page.html.j2").render(
        title=title, subtitle=subtitle, body=body, css=STYLESHEET.read_text(encoding="utf-8"),
        csp=CONTENT_SECURITY_POLICY,
    )


def data_fingerprint(inputs: dict) -> str:
    """One short fingerprint of a set of input files (name -> {sha256}): equal fingerprints, equal data."""
    return hashlib.sha256("".join(sorted(f.get("sha256", "") for f in inputs.values())).encode()).hexdigest()[:12]


def _kept_note(report: dict) -> str:
    kept = report.get("kept") or {}
    why = kept.get("reason", "")
    return f"kept from the build of {kept.get('built_at', '?')} (data {kept.get('data', '?')}){': ' + why if why else ''}"


def write_year_index(year_dir: Path, run: dict) -> None:
    """``OUT/<YEAR>/index.html``: the year's reports (kept ones marked), skipped reports, tables and the data used."""
    year_dir = Path(year_dir)
    tables = sorted(p.name for p in (year_dir / "tables").glob("*.csv")) if (year_dir / "tables").exists() else []
    body = _env.get_template("year_index.html.j2").render(
        run=run, tables=tables, workbook=(year_dir / "tables.xlsx").exists(), kept_note=_kept_note)
    (year_dir / "index.html").write_text(page(f"cxreport · {run['year']}", body), encoding="utf-8")


def write_site_index(out_dir: Path) -> None:
    """``OUT/index.html``: every year built, newest first, written atomically."""
    years = []
    dirs = (p for p in Path(out_dir).iterdir() if p.is_dir() and p.name.isdigit())
    for d in sorted(dirs, key=lambda p: int(p.name), reverse=True):
        metrics = d / "metrics.json"
        run = json.loads(metrics.read_text(encoding="utf-8")).get("run", {}) if metrics.exists() else {}
        years.append({
            "name": d.name, "n": len(run.get("reports", [])), "skipped": len(run.get("skipped", {})),
            "failed": len(run.get("failed", [])), "generated_at": run.get("generated_at", "?"),
            "data": data_fingerprint(run.get("inputs", {})),
        })
    body = _env.get_template("site_index.html.j2").render(years=years)
    tmp = Path(out_dir) / f".index-{uuid.uuid4().hex[:8]}.html"
    tmp.write_text(page("cxreport · all years", body), encoding="utf-8")
    tmp.replace(Path(out_dir) / "index.html")
