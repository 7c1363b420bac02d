"""The published reports as a reader's browser sees them: headless Chromium, no network.

Serves the sample build on 127.0.0.1 and checks every page reachable from
OUT/index.html: every link resolves, every image loads, the console stays
free of errors, and no request leaves the machine. Chromium is Debian's
`chromium` package, installed by `make browser-deps` (CI runs it from .ci/run); the test never
installs anything: it skips when Chromium is missing, except in CI (CI=true), where that fails.
"""

import functools
import http.server
import os
import shutil
import threading
from urllib.parse import urljoin, urlparse

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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
def site(built_sample):
    """The sample build served over HTTP on the loopback interface."""
    out, _ = built_sample
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
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


def test_every_page_link_image_and_request_stays_local(site, browser, tmp_path):
    page = browser.new_page()
    outside, errors, failed = [], [], []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("requestfailed", lambda req: failed.append(req.url))

    to_visit, seen, checked_links = [site + "index.html"], set(), 0
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url)
        assert response is not None and response.ok, f"{url} answered {response.status if response else 'nothing'}"
        if not url.endswith(".html"):
            continue
        page.wait_for_load_state("load")
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        assert broken == 0, f"{url}: {broken} image(s) did not load"
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            target = urljoin(url, href).split("#")[0]
            assert target.startswith(site), f"{url} links outside the site: {href}"
            checked_links += 1
            if target.endswith(".html"):
                to_visit.append(target)
            else:  # PDFs, CSVs, JSON: they must exist
                assert page.request.get(target).ok, f"{url}: link {href} does not resolve"
    page.goto(site + "index.html")
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    assert not outside, f"requests left the machine: {outside[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
    assert not failed, f"failed requests: {failed[:5]}"
    assert len([u for u in seen if u.endswith(".html")]) >= 3 and checked_links >= 4
