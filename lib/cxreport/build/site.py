"""The site around the reports: every page's frame, the year and site indexes, and the site-level files.

Every page comes from a Jinja2 template (``templates/*.j2``) with autoescaping
on, so text from the data (partner names, labels, error messages) is always
shown as text. Each page carries:

- a header: the organisation, the year, the page's name, links to the year's
  index, the executive summary, the other reports of the year and the tables,
  and links to the same report in the other years built;
- the site's two small scripts, inlined (``templates/cx.js`` and the vendored
  ``templates/vendor/tablesort``): navigation, search, sorting and filtering;
- a Content-Security-Policy that forbids loading anything from outside: no
  remote origin at all, images only inline, scripts only the two inlined ones
  (allowed by their SHA-256) and the site's own data files (``'self'``).

A report page is rendered once, when its notebook runs, and is not rendered
again when later reports or years are built. So what a page cannot know then
comes from two site-level files that every build writes again
(:func:`write_site_index`): ``OUT/site.js`` (the years built and their
reports) and ``OUT/search-index.js`` (the text of every page, by section). A
page reads them with ``<script src="../site.js">``, which works over HTTP and
from ``file://``; without them it keeps its static links (index, summary,
tables).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STYLESHEET = TEMPLATES / "report.css"
# The scripts every page inlines, in order: the sorting library first, then ours, which uses it.
SCRIPTS = (TEMPLATES / "vendor" / "tablesort" / "tablesort.min.js", TEMPLATES / "cx.js")
# The executive summary's notebook: every page links to it.
SUMMARY_REPORT = "00_summary"
# The site-level files every build writes again (OUT/...), read by every page.
SITE_DATA = "site.js"
SEARCH_INDEX = "search-index.js"
SITE_TITLE = "Customer-experience reports"
# Text kept per section of a page in the search index: enough for every sentence and the heads of long tables.
SECTION_TEXT_LIMIT = 6000

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


# ----------------------------------------------------------------------------- scripts and the policy
@lru_cache(maxsize=1)
def scripts() -> tuple[str, ...]:
    """The inline scripts of every page, as shipped (their hashes are in the Content-Security-Policy)."""
    return tuple(path.read_text(encoding="utf-8") for path in SCRIPTS)


def script_hash(text: str) -> str:
    """The CSP source that allows exactly this inline script: ``'sha256-<base64 of the digest>'``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(inline_scripts: tuple[str, ...]) -> str:
    """The policy of every page: nothing from outside, scripts only these inline ones and the site's own files.

    ``'self'`` admits the site's data files (``site.js``, ``search-index.js``):
    the site's own origin over HTTP, and ``file:`` URLs when a page is opened
    from disk (Chromium matches ``'self'`` there too). No remote origin, and
    never ``'unsafe-inline'`` for scripts: an inline script runs only when its
    hash is listed. Styles stay inline (the pages carry their stylesheet).
    """
    hashes = " ".join(script_hash(s) for s in inline_scripts)
    return (f"default-src 'none'; script-src 'self' {hashes}; img-src data:; style-src 'unsafe-inline'; "
            "font-src data:; base-uri 'none'; form-action 'none'; object-src 'none'")


CONTENT_SECURITY_POLICY = content_security_policy(scripts())


# ----------------------------------------------------------------------------- the navigation model
@dataclass(frozen=True)
class Link:
    label: str
    href: str
    current: bool = False


@dataclass(frozen=True)
class Nav:
    """Where a page sits in the site, and the links its header shows before the site's data file adds the rest.

    ``root`` is the relative path from the page to ``OUT`` (``../`` for a
    report, ``../../`` for a scorecard in ``partners/``, empty for the site
    index). ``report`` is the page's notebook name and ``unit`` its unit (a
    partner id): the script matches them in other years for the year links.
    """

    organisation: str = ""
    year: str | None = None
    report: str | None = None
    unit: str | None = None
    root: str = ""
    links: tuple[Link, ...] = ()
    tables: tuple[Link, ...] = ()

    @property
    def year_root(self) -> str:
        """Relative path from the page to its year's folder."""
        return f"{self.root}{self.year}/" if self.year else self.root

    @property
    def site_index(self) -> str:
        return f"{self.root}index.html"


def report_nav(organisation: str, year, report: str, unit: str | None = None, depth: int = 1,
               tables: list[str] | tuple[str, ...] = (), workbook: bool = True) -> Nav:
    """The navigation of a report page, as known when it is rendered.

    ``depth`` is the page's folder depth below ``OUT`` (1: ``OUT/2020/``, 2:
    ``OUT/2020/partners/``). The static links are the year's index, the
    summary and the year's tables; the script adds every report of the year
    and the other years from ``site.js``. ``tables`` are the CSV files the
    report wrote (``tables/<name>.csv``, relative to the year's folder); the
    year's workbook is linked beside them (``workbook``).
    """
    up = "../" * (depth - 1)
    links = (
        Link("Index", f"{up}index.html"),
        Link("Executive summary", f"{up}{SUMMARY_REPORT}.html", current=report == SUMMARY_REPORT and not unit),
        Link("Tables", f"{up}index.html#tables"),
    )
    table_links = tuple(Link(Path(t).name, f"{up}{t}") for t in tables)
    if table_links and workbook:
        table_links += (Link("All tables as one workbook (tables.xlsx)", f"{up}tables.xlsx"),)
    return Nav(organisation, str(year) if year is not None else None, report, unit, "../" * depth, links, table_links)


def year_links(reports: list[dict], current: str | None = None) -> tuple[Link, ...]:
    """The header links of a year: its index, then each report (a per-unit report: its list in the index), the tables."""
    links = [Link("Index", "index.html", current=current is None)]
    for r in reports:
        if r.get("units") is not None:
            links.append(Link(r["title"], f"index.html#{r['name']}"))
        elif r.get("href"):
            links.append(Link(r["title"], r["href"], current=r["name"] == current))
    links.append(Link("Tables", "index.html#tables"))
    return tuple(links)


def tab_title(name: str, year=None, organisation: str = "") -> str:
    """A page's title in the browser tab: name, year and organisation (``Customer Lifetime Value and Churn 2020 · Contoso``)."""
    parts = [name if year is None or name.endswith(str(year)) else f"{name} {year}"]
    if organisation:
        parts.append(organisation)
    return " · ".join(parts)


def page(title: str, body: str, subtitle: str = "", nav: Nav | None = None, toc: list | tuple = (),
         tab: str | None = None) -> str:
    """A complete, self-contained HTML page in the house style; ``body`` is trusted HTML, the rest is escaped.

    ``title`` is the page's name (the bar's and, for a report, its heading's);
    ``tab`` the browser tab's title (default: :func:`tab_title`); ``toc`` the
    (level, anchor, text) entries of its table of contents.
    """
    nav = nav or Nav()
    return _env.get_template("page.html.j2").render(
        title=title, tab=tab or tab_title(title, nav.year, nav.organisation), subtitle=subtitle, body=body, nav=nav,
        toc=list(toc), css=STYLESHEET.read_text(encoding="utf-8"), scripts=scripts(), csp=CONTENT_SECURITY_POLICY,
        site_data=SITE_DATA, search_index=SEARCH_INDEX,
    )


# ----------------------------------------------------------------------------- what a rendered page says about itself
_META = re.compile(r'<meta name="cx-([a-z]+)" content="([^"]*)">')


def page_facts(text: str) -> dict[str, str]:
    """The ``cx-*`` meta tags of a rendered page (name, organisation, year, report, unit, root), unescaped."""
    head = text.split("</head>", 1)[0]
    return {k: html.unescape(v) for k, v in _META.findall(head)}


def _facts_of(path: Path) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as fh:
            return page_facts(fh.read(32768))  # the meta tags come first in the head
    except OSError:
        return {}


# ----------------------------------------------------------------------------- a year's reports
def data_fingerprint(inputs: dict) -> str:
    """One short fingerprint of a set of input files (name -> {sha256}): equal fingerprints, equal data."""
    return hashlib.sha256("".join(sorted(f.get("sha256", "") for f in inputs.values())).encode()).hexdigest()[:12]


def _kept_note(report: dict) -> str:
    kept = report.get("kept") or {}
    why = kept.get("reason", "")
    return f"kept from the build of {kept.get('built_at', '?')} (data {kept.get('data', '?')}){': ' + why if why else ''}"


def year_reports(year_dir: Path, run: dict) -> list[dict]:
    """The year's reports as the site shows them: name, title, page (``href``), units, tables and the run's entry.

    The title is the one the report's page shows (its heading, recorded in the
    page when rendered, see :mod:`.render`), so the index, the header links and
    the page agree; the notebook's title when there is no HTML page.
    """
    year_dir = Path(year_dir)
    tables = _tables_by_report(year_dir)
    out = []
    for r in run.get("reports", []):
        if not isinstance(r, dict) or "name" not in r:
            continue
        entry = {"name": r["name"], "title": r.get("title") or r["name"], "entry": r, "tables": tables.get(r["name"], [])}
        if "units" in r:
            entry["units"] = [{"id": u["id"], "label": u.get("label", u["id"]), "href": u.get("html") or u.get("pdf"),
                               "title": _facts_of(year_dir / u["html"]).get("name") if u.get("html") else None}
                              for u in r.get("units", [])]
        else:
            entry["href"] = r.get("html") or r.get("pdf")
            if r.get("html"):
                entry["title"] = _facts_of(year_dir / r["html"]).get("name") or entry["title"]
        out.append(entry)
    return out


def _tables_by_report(year_dir: Path) -> dict[str, list[str]]:
    """The CSV tables (``tables/<name>.csv``) each report wrote, from the year's build manifest (empty without one)."""
    from .cache import read_manifest

    found: dict[str, list[str]] = {}
    for job_id, job in read_manifest(year_dir).get("jobs", {}).items():
        files = [f for f in job.get("files", []) if f.startswith("tables/") and f.endswith(".csv")]
        if files and (year_dir / files[0]).is_file():
            found.setdefault(job_id.split("/")[0], []).extend(f for f in files if (year_dir / f).is_file())
    return {k: sorted(set(v)) for k, v in found.items()}


def organisation_of(year_dir: Path, reports: list[dict]) -> str:
    """The organisation the year's reports are for, as their pages state it ('' when no page says)."""
    for r in reports:
        pages = [r["href"]] if r.get("href") else [u["href"] for u in r.get("units", []) if u.get("href")]
        for href in pages[:1]:
            org = _facts_of(Path(year_dir) / href).get("organisation")
            if org:
                return org
    return ""


def write_year_index(year_dir: Path, run: dict) -> None:
    """``OUT/<YEAR>/index.html``: the year's reports (kept ones marked), skipped reports, tables and the data used."""
    year_dir = Path(year_dir)
    reports = year_reports(year_dir, run)
    organisation = organisation_of(year_dir, reports)
    all_tables = sorted(p.name for p in (year_dir / "tables").glob("*.csv")) if (year_dir / "tables").exists() else []
    claimed = {Path(t).name for r in reports for t in r["tables"]}
    body = _env.get_template("year_index.html.j2").render(
        run=run, reports=reports, other_tables=[t for t in all_tables if t not in claimed], any_tables=bool(all_tables),
        workbook=(year_dir / "tables.xlsx").exists(), kept_note=_kept_note)
    year = str(run["year"])
    nav = Nav(organisation, year, None, None, "../", year_links(reports))
    name = f"Reports {year}"
    (year_dir / "index.html").write_text(page(name, body, nav=nav, tab=tab_title(name, year, organisation)), encoding="utf-8")


# ----------------------------------------------------------------------------- the site index and the site-level files
def _years(out_dir: Path) -> list[tuple[Path, dict]]:
    """Every year built in ``out_dir``, newest first, with its run record (empty when its metrics are missing)."""
    found = []
    for d in (p for p in Path(out_dir).iterdir() if p.is_dir() and p.name.isdigit()):
        metrics = d / "metrics.json"
        try:
            run = json.loads(metrics.read_text(encoding="utf-8")).get("run", {}) if metrics.exists() else {}
        except (OSError, json.JSONDecodeError):
            run = {}
        found.append((d, run))
    return sorted(found, key=lambda item: int(item[0].name), reverse=True)


def site_data(out_dir: Path) -> dict:
    """What ``OUT/site.js`` holds: the organisation and every year built with its reports (paths relative to OUT)."""
    years, organisation = [], ""
    for d, run in _years(out_dir):
        reports = year_reports(d, run)
        organisation = organisation or organisation_of(d, reports)
        y = d.name
        items = []
        for r in reports:
            item = {"name": r["name"], "title": r["title"]}
            if "units" in r:
                item["units"] = [{"id": u["id"], "label": u["label"], "href": f"{y}/{u['href']}"}
                                 for u in r["units"] if u.get("href")]
            elif r.get("href"):
                item["href"] = f"{y}/{r['href']}"
            items.append(item)
        years.append({"year": y, "index": f"{y}/index.html", "reports": items})
    return {"organisation": organisation, "years": years}


def js_assignment(name: str, value) -> str:
    """``window.NAME = <JSON>;`` safe to load as a script: no ``</script>``, HTML comment or line separator can break out."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return f"window.{name} = {text};\n"


class _SectionText(HTMLParser):
    """The text of a page's main content, cut into sections at its h1-h3 headings (anchor, heading, text)."""

    SKIPPED = frozenset({"script", "style", "svg", "noscript", "template"})
    HEADINGS = frozenset({"h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[list] = [["", "", []]]  # anchor, heading, text parts
        self._skip = 0
        self._heading: list | None = None

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skip += 1
        elif tag in self.HEADINGS and not self._skip:
            self._heading = [dict(attrs).get("id") or "", []]
        elif tag in ("td", "th", "li", "p", "div", "br", "tr", "caption", "blockquote") and not self._skip:
            self._add(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in self.HEADINGS and self._heading is not None:
            anchor, parts = self._heading
            self._heading = None
            self.sections.append([anchor, _squash("".join(parts)), []])

    def handle_data(self, data):
        if not self._skip:
            self._add(data)

    def _add(self, text: str) -> None:
        (self._heading[1] if self._heading is not None else self.sections[-1][2]).append(text)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("¶", "")).strip()


def page_sections(text: str) -> list[dict]:
    """A rendered page's searchable sections: ``{"a": anchor, "t": heading, "x": text}``, text cut to a limit.

    Only the page's main content counts (not its header, table of contents or
    scripts); charts, styles and scripts are skipped. The text before the first
    heading goes with the first section.
    """
    start, end = text.find("<main"), text.rfind("</main>")
    parser = _SectionText()
    parser.feed(text[start:end] if start >= 0 and end > start else text)
    parser.close()
    sections = []
    lead = _squash("".join(parser.sections[0][2]))
    for anchor, heading, parts in parser.sections[1:]:
        body = _squash("".join(parts))
        if lead:
            body, lead = f"{lead} {body}".strip(), ""
        if heading or body:
            sections.append({"a": anchor, "t": heading, "x": body[:SECTION_TEXT_LIMIT]})
    if lead:
        sections.append({"a": "", "t": "", "x": lead[:SECTION_TEXT_LIMIT]})
    return sections


def search_index(out_dir: Path) -> dict:
    """What ``OUT/search-index.js`` holds: every HTML page of every year (reports, scorecards), section by section.

    ``pages``: ``{"u": path from OUT, "n": page name, "y": year}``; ``sections``:
    ``[page number, anchor, heading, text]``.
    """
    pages, sections = [], []
    for d, run in _years(out_dir):
        for r in year_reports(d, run):
            hrefs = [r["href"]] if r.get("href") else [u["href"] for u in r.get("units", []) if u.get("href")]
            for href in hrefs:
                path = d / href
                if path.suffix != ".html" or not path.is_file():
                    continue
                text = path.read_text(encoding="utf-8")
                name = page_facts(text).get("name") or r["title"]
                pages.append({"u": f"{d.name}/{href}", "n": name, "y": d.name})
                sections.extend([len(pages) - 1, s["a"], s["t"], s["x"]] for s in page_sections(text))
    return {"pages": pages, "sections": sections}


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.parent / f".{path.stem}-{uuid.uuid4().hex[:8]}{path.suffix}"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_site_index(out_dir: Path) -> None:
    """``OUT/index.html`` (every year built, newest first), ``OUT/site.js`` and ``OUT/search-index.js``, each atomically.

    Run after every build and publication, so the pages of earlier years find
    the years and reports built since.
    """
    out_dir = Path(out_dir)
    years = []
    for d, run in _years(out_dir):
        years.append({
            "name": d.name, "n": len(run.get("reports", [])), "skipped": len(run.get("skipped", {})),
            "failed": len(run.get("failed", [])), "generated_at": run.get("generated_at", "?"),
            "data": data_fingerprint(run.get("inputs", {})),
        })
    data = site_data(out_dir)
    _write_atomically(out_dir / SITE_DATA, js_assignment("CX_SITE", data))
    _write_atomically(out_dir / SEARCH_INDEX, js_assignment("CX_SEARCH", search_index(out_dir)))
    body = _env.get_template("site_index.html.j2").render(years=years)
    nav = Nav(data["organisation"], None, None, None, "", tuple(Link(y["name"], f"{y['name']}/index.html") for y in years))
    _write_atomically(out_dir / "index.html", page(SITE_TITLE, body, nav=nav, tab=tab_title(SITE_TITLE, None, data["organisation"])))
