"""The published reports as a reader's browser sees them: headless Chromium, no network.

Serves the sample build on 127.0.0.1 and checks every page reachable from
OUT/index.html: every link resolves, every image loads, the console stays
free of errors (a script the Content-Security-Policy blocked would show there),
and no request leaves the machine. Then it walks what a reader does: the header
from every report to the index, the summary, every other report of the year,
the tables behind the page and the same report in another year; search (a term
typed in one report finds a section of another, over HTTP and from file://);
sorting and filtering a large table; dark mode; and the layout at 1280 and
390 px (no element wider than its container, no sideways page scroll).

The second year is the sample year copied as 2019 (one report left out) and
the site files written again, as a build of 2019 would leave them: enough for
the year links, without paying for a second build.

Chromium is Debian's `chromium` package, installed by `make browser-deps` (CI
runs it from .ci/run); the test never installs anything: it skips when Chromium
is missing, except in CI (CI=true), where that fails.
"""

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from cxreport.build.site import SUMMARY_REPORT, write_site_index, write_year_index

pytestmark = [pytest.mark.slow, pytest.mark.browser]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
YEAR, OTHER_YEAR = "2020", "2019"
LEFT_OUT = "02_cloud_maturity"  # not in the copied 2019: its year link falls back to 2019's index
WIDTHS = (1280, 390)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Every element that sticks out of its parent, unless the parent scrolls or clips (a table in its scroll box,
# the header's links on a phone): "no element wider than its container". Chart internals (SVG) are skipped.
OVERFLOWING = """() => {
  const found = [];
  for (const e of document.querySelectorAll("body *")) {
    if (e.closest("svg") && e.tagName.toLowerCase() !== "svg") continue;
    const parent = e.parentElement;
    if (!parent || parent === document.body) continue;
    const style = getComputedStyle(e);
    if (style.display === "none" || style.position === "absolute" || style.position === "fixed") continue;
    if (getComputedStyle(parent).overflowX !== "visible") continue;
    const r = e.getBoundingClientRect(), p = parent.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > p.right + 1 || r.left < p.left - 1) {
      found.push(`${e.tagName.toLowerCase()}.${[...e.classList].join(".")} spans ${Math.round(r.left)}-${Math.round(r.right)} px `
                 + `in ${parent.tagName.toLowerCase()}.${[...parent.classList].join(".")} (${Math.round(p.left)}-${Math.round(p.right)} px)`);
    }
  }
  return found;
}"""
PAGE_SCROLL = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _missing(reason: str):
    """Skip locally, fail in CI: CI installs Chromium with `make browser-deps` before the tests."""
    message = f"{reason}: run `make browser-deps` (installs Debian's chromium with apt-get)"
    if IN_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


@pytest.fixture(scope="module", autouse=True)
def chromium() -> str:
    """Debian's Chromium, checked before the shared build is paid for."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        _missing("Chromium is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Playwright is not installed (it comes with `pip install -e '.[dev]'`)")
    return path


@pytest.fixture(scope="module")
def out(built_sample, tmp_path_factory) -> Path:
    """A copy of the sample build with a second year: 2020 copied as 2019 without one report, site files rewritten."""
    src, _ = built_sample
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(src / YEAR, site / YEAR)
    other = site / OTHER_YEAR
    shutil.copytree(src / YEAR, other)
    for page in other.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = text.replace(f'<meta name="cx-year" content="{YEAR}">', f'<meta name="cx-year" content="{OTHER_YEAR}">')
        page.write_text(text.replace(f'href="{LEFT_OUT}.html"', 'href="index.html"'), encoding="utf-8")  # the summary's link
    for leftover in other.glob(f"{LEFT_OUT}.*"):
        leftover.unlink()
    metrics = json.loads((other / "metrics.json").read_text(encoding="utf-8"))
    metrics["run"]["year"] = int(OTHER_YEAR)
    metrics["run"]["reports"] = [r for r in metrics["run"]["reports"] if r["name"] != LEFT_OUT]
    (other / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    write_year_index(other, metrics["run"])
    write_site_index(site)
    return site


@pytest.fixture(scope="module")
def run(out) -> dict:
    return json.loads((out / YEAR / "metrics.json").read_text(encoding="utf-8"))["run"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(out):
    """The site served over HTTP on the loopback interface."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Reader:
    """A browser context that refuses and records every request leaving 127.0.0.1, and records console errors."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(**options)
        self.outside, self.errors = [], []
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("console", lambda msg: self.errors.append(f"{self.page.url}: {msg.text}") if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: {exc}"))

    def _guard(self, route):
        url = route.request.url
        if url.startswith(("data:", "file:")) or urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def goto(self, url: str):
        response = self.page.goto(url)
        assert response is None or response.ok, f"{url} answered {response.status}"
        self.page.wait_for_load_state("load")
        return response

    def close(self):
        self.context.close()
        assert not self.outside, f"requests left the machine: {self.outside[:5]}"
        assert not self.errors, f"console errors (a blocked script shows here): {self.errors[:5]}"


@pytest.fixture
def reader(browser):
    r = Reader(browser, viewport={"width": 1280, "height": 900})
    yield r
    r.close()


def _report_pages(run: dict) -> dict[str, str]:
    """The year's report pages (not per-unit), by notebook name."""
    return {r["name"]: r["html"] for r in run["reports"] if "units" not in r and r.get("html")}


def _unit_pages(run: dict) -> list[str]:
    return [u["html"] for r in run["reports"] if "units" in r for u in r["units"] if u.get("html")]


def _tables_of(year_dir: Path) -> dict[str, list[str]]:
    """The CSV tables each report wrote, from the build's manifest."""
    manifest = json.loads((year_dir / ".build" / "manifest.json").read_text(encoding="utf-8"))
    return {job: [f for f in rec.get("files", []) if f.startswith("tables/")] for job, rec in manifest["jobs"].items()}


def _hrefs(page, selector: str) -> list[str]:
    return [urljoin(page.url, h) for h in page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")]


# ----------------------------------------------------------------------------- every page, every link
def test_every_page_link_image_and_request_stays_local(site, reader, tmp_path):
    page = reader.page
    failed = []
    page.on("requestfailed", lambda req: failed.append(req.url))
    to_visit, seen, checked = [site + "index.html"], set(), set()
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        reader.goto(url)
        if not url.endswith(".html"):
            continue
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        assert broken == 0, f"{url}: {broken} image(s) did not load"
        for target in _hrefs(page, "a[href]"):
            assert target.startswith(site), f"{url} links outside the site: {target}"
            target = target.split("#")[0]
            if target.endswith(".html"):
                to_visit.append(target)
            elif target not in checked:  # PDFs, CSVs, JSON, the workbook: they must exist
                checked.add(target)
                assert page.request.get(target).ok, f"{url}: link {target} does not resolve"
    reader.goto(site + "index.html")
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    assert not failed, f"failed requests: {failed[:5]}"
    assert len([u for u in seen if u.endswith(".html")]) >= 3 and len(checked) >= 4


# ----------------------------------------------------------------------------- navigation
def test_header_reaches_index_summary_every_report_tables_and_other_years(site, out, run, reader):
    reports = _report_pages(run)
    tables = _tables_of(out / YEAR)
    year = site + YEAR + "/"
    assert SUMMARY_REPORT in reports and len(reports) >= 4
    for name, html in reports.items():
        reader.goto(year + html)
        header = {h.split("#")[0] for h in _hrefs(reader.page, "header a")}
        missing = {year + "index.html", *(year + h for h in reports.values() if h != html)} - header
        assert not missing, f"{html}: the header does not link {sorted(missing)}"
        assert year + "index.html#tables" in _hrefs(reader.page, "header .cx-links a"), html
        assert reader.page.locator("header .cx-links a[aria-current=page]").get_attribute("href").endswith(html)
        # The tables behind the page: each CSV its report wrote, and the workbook.
        linked = set(_hrefs(reader.page, ".cx-tables a"))
        wanted = {year + t for t in tables.get(name, [])}
        assert wanted <= linked, f"{html}: tables not linked: {sorted(wanted - linked)}"
        if wanted:
            assert year + "tables.xlsx" in linked
        # The same report in the other year, or that year's index when it was not built then.
        years = _hrefs(reader.page, ".cx-years a")
        expected = site + OTHER_YEAR + "/" + (html if name != LEFT_OUT else "index.html")
        assert years == [expected], f"{html}: year links {years}"
        # Title, bar and heading carry one name; the tab adds the year and the organisation.
        title, bar, h1 = (reader.page.title(), reader.page.inner_text(".cx-name"),
                          reader.page.inner_text("main h1").replace("¶", "").strip())
        organisation = reader.page.get_attribute('meta[name="cx-organisation"]', "content")
        assert organisation and h1 == f"{bar} {YEAR}" and title == f"{bar} {YEAR} · {organisation}", (html, title, bar, h1)
    # One click: the year link goes to the same report of 2019, whose header links back to 2020.
    reader.goto(year + reports["03_clv_churn"])
    reader.page.click(".cx-years a")
    reader.page.wait_for_load_state("load")
    assert reader.page.url == site + OTHER_YEAR + "/" + reports["03_clv_churn"]
    assert _hrefs(reader.page, ".cx-years a") == [year + reports["03_clv_churn"]]


def test_index_lists_each_report_by_the_name_its_page_shows(site, run, reader):
    reader.goto(site + YEAR + "/index.html")
    listed = {h.split("/")[-1]: reader.page.locator(f'main a[href="{h.split("/")[-1]}"]').first.inner_text()
              for h in _hrefs(reader.page, "main li > a") if h.endswith(".html") and "/partners/" not in h}
    for html in _report_pages(run).values():
        reader.goto(site + YEAR + "/" + html)
        assert listed.get(html) == reader.page.inner_text(".cx-name"), html


def test_scorecards_reach_the_index_summary_and_the_same_partner_in_other_years(site, out, run, reader):
    year = site + YEAR + "/"
    units = _unit_pages(run)
    organisation = json.loads((out / "site.js").read_text(encoding="utf-8")[len("window.CX_SITE = "):-2])["organisation"]
    assert units and organisation
    for html in units[:3]:
        reader.goto(year + html)
        header = {h.split("#")[0] for h in _hrefs(reader.page, "header a")}
        assert {year + "index.html", year + SUMMARY_REPORT + ".html"} <= header
        assert _hrefs(reader.page, ".cx-years a") == [site + OTHER_YEAR + "/" + html]
        bar = reader.page.inner_text(".cx-name")
        assert reader.page.title() == f"{bar} {YEAR} · {organisation}" and reader.page.inner_text(".cx-org") == organisation


# ----------------------------------------------------------------------------- search
def _search(reader, term: str) -> list[str]:
    box = reader.page.locator(".cx-search-input")
    box.click()
    box.fill(term)
    reader.page.wait_for_selector(f".cx-results[data-cx-query={json.dumps(term)}]", timeout=10000)
    return _hrefs(reader.page, ".cx-results a.cx-hit")


def _search_finds_the_clv_report(reader, start: str) -> None:
    reader.goto(start)
    hits = _search(reader, "Net revenue retention")
    clv = [h for h in hits if f"/{YEAR}/03_clv_churn.html#" in h]
    assert clv, f"no hit in the CLV report: {hits[:5]}"
    reader.page.locator(".cx-results a.cx-hit").nth(hits.index(clv[0])).click()
    reader.page.wait_for_load_state("load")
    assert reader.page.url == clv[0]
    anchor = clv[0].split("#", 1)[1]
    assert reader.page.locator(f'[id="{anchor}"]').count() == 1


def test_search_from_the_survey_report_finds_the_clv_report(site, reader):
    _search_finds_the_clv_report(reader, site + YEAR + "/01_survey_scores.html")
    reader.goto(site + YEAR + "/01_survey_scores.html")
    assert _search(reader, "Net revenue retention zzzqx") == []
    assert "No section" in reader.page.inner_text(".cx-results")


def test_navigation_and_search_work_from_file_urls(out, reader):
    page = (out / YEAR / "01_survey_scores.html").resolve().as_uri()
    reader.goto(page)
    links = _hrefs(reader.page, "header .cx-links a")
    assert len(links) >= 6 and all(h.startswith("file://") for h in links), links  # built from site.js
    assert reader.page.is_visible(".cx-years")
    _search_finds_the_clv_report(reader, page)


# ----------------------------------------------------------------------------- tables
def _number(text: str) -> float:
    t = text.strip()
    if t in ("–", ""):
        return float("-inf")
    return float(re.sub(r"[^0-9.\-]", "", t.replace("\u2212", "-")) or "nan")


def test_large_tables_sort_and_filter(site, reader):
    reader.goto(site + YEAR + "/03_clv_churn.html")
    tables = reader.page.locator("main table.cx-sortable")
    assert tables.count() >= 2, "the large tables (MRR movements, account lists) are sortable"
    table = reader.page.locator("main table.cx-sortable", has=reader.page.locator("caption", has_text="MRR movements")).first
    if table.count() == 0:
        table = tables.first
    headers = table.locator("thead tr").last.locator("th")
    numeric = next(i for i in range(1, headers.count())
                   if all(_number(t) == _number(t) for t in table.locator(f"tbody tr td:nth-child({i + 1})").all_inner_texts()))
    column = f"tbody tr td:nth-child({numeric + 1})"
    headers.nth(numeric).click()
    ascending = [_number(t) for t in table.locator(column).all_inner_texts()]
    assert ascending == sorted(ascending) and headers.nth(numeric).get_attribute("aria-sort") == "ascending"
    headers.nth(numeric).click()
    descending = [_number(t) for t in table.locator(column).all_inner_texts()]
    assert descending == sorted(descending, reverse=True) and len(set(descending)) > 1
    # Filtering: rows without the term are hidden, and the count says so.
    rows = table.locator("tbody tr")
    first_cell = rows.first.locator("td").first.inner_text().strip()
    wanted = [r for r in rows.all_inner_texts() if first_cell.lower() in r.lower()]
    label = table.locator("xpath=ancestor::div[contains(@class,'cx-table')]/preceding-sibling::label[1]")
    label.locator("input").fill(first_cell)
    visible = [r for r in range(rows.count()) if rows.nth(r).is_visible()]
    assert len(visible) == len(wanted) < rows.count()
    assert f"{len(wanted)} of {rows.count()} rows" in label.inner_text()
    box = label.locator("input")
    box.fill("")
    assert all(rows.nth(r).is_visible() for r in range(rows.count()))


def test_partner_tables_are_sortable(site, reader):
    reader.goto(site + YEAR + "/04_partner_programme.html")
    assert reader.page.locator("main table.cx-sortable").count() >= 1
    assert reader.page.locator("main .cx-filter input").count() == reader.page.locator("main table.cx-sortable").count()


CHART_HOVER = """() => Array.from(document.querySelectorAll('.cx-hoverable')).map(frame => {
  const img = frame.querySelector('img').getBoundingClientRect();
  return Array.from(frame.querySelectorAll('.cx-hot')).map(s => {
    const r = s.getBoundingClientRect();
    return {title: s.getAttribute('title'), inside: r.width > 0 && r.height > 0 && r.left >= img.left - 1 &&
            r.right <= img.right + 1 && r.top >= img.top - 1 && r.bottom <= img.bottom + 1};
  });
})"""


def test_bar_charts_show_their_values_on_hover(site, reader):
    """Each bar of the survey report's bar charts carries its value as a tooltip, over the bar's place in the image."""
    reader.goto(site + YEAR + "/01_survey_scores.html")
    charts = reader.page.evaluate(CHART_HOVER)
    assert len(charts) >= 2, charts
    for spots in charts:
        assert spots and all(s["inside"] and re.search(r": [−-]?[\d,]+(\.\d)?", s["title"]) for s in spots), spots
    hot = reader.page.locator(".cx-hot").first
    hot.hover()
    assert hot.evaluate("e => e.matches(':hover')")


# ----------------------------------------------------------------------------- dark mode and layout
def _luminance(css_colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colour_scheme_follows_the_system_and_charts_stay_on_light_cards(site, browser, scheme):
    reader = Reader(browser, viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    try:
        reader.goto(site + YEAR + "/01_survey_scores.html")
        paper = _luminance(reader.page.eval_on_selector("main", "e => getComputedStyle(e).backgroundColor"))
        ink = _luminance(reader.page.eval_on_selector("main p", "e => getComputedStyle(e).color"))
        chart = reader.page.eval_on_selector("main img", "e => getComputedStyle(e).backgroundColor")
        if scheme == "dark":
            assert paper < 0.2 and ink > 0.7
            assert chart == "rgb(255, 255, 255)"  # a white card under the chart's white drawing
        else:
            assert paper > 0.9 and ink < 0.3
    finally:
        reader.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways_and_no_element_sticks_out(site, out, browser, width):
    reader = Reader(browser, viewport={"width": width, "height": 900})
    try:
        pages = ["index.html", f"{YEAR}/index.html"] + sorted(str(p.relative_to(out)) for p in (out / YEAR).rglob("*.html")
                                                              if p.name != "index.html")
        problems = []
        for page in pages:
            reader.goto(site + page)
            scroll = reader.page.evaluate(PAGE_SCROLL)
            if scroll > 0:
                problems.append(f"{page}: the page scrolls sideways by {scroll} px")
            problems += [f"{page}: {e}" for e in reader.page.evaluate(OVERFLOWING)[:3]]
        assert not problems, "\n".join(problems[:20])
    finally:
        reader.close()


def test_the_summary_fits_a_phone_in_dark_mode_with_search_open(site, browser):
    reader = Reader(browser, viewport={"width": 390, "height": 800}, color_scheme="dark")
    try:
        reader.goto(site + YEAR + "/00_summary.html")
        _search(reader, "retention")
        assert reader.page.evaluate(PAGE_SCROLL) <= 0
        box = reader.page.eval_on_selector(".cx-results", "e => e.getBoundingClientRect().toJSON()")
        assert box["left"] >= 0 and box["right"] <= 390
    finally:
        reader.close()
