"""The published reports as a reader's browser sees them: headless Chromium, no network.

Serves the sample build on 127.0.0.1 and checks every page reachable from
OUT/index.html: every link resolves, every image loads, the console stays
free of errors, and no request leaves the machine. Chromium is Debian's
`chromium` package; the test installs it when it is missing (as root).
"""

import functools
import http.server
import os
import shutil
import subprocess
import threading
from urllib.parse import urljoin, urlparse

import pytest

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.geteuid() != 0:
        pytest.fail("Chromium is missing and the test is not root: install Debian's `chromium` package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, capture_output=True)
    return shutil.which("chromium")


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
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
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
