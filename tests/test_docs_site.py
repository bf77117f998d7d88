"""The docs site builds with ``mkdocs build --strict``, and its home page renders in real Chromium.

The browser runs in a process of its own (a script with Playwright's sync API, on the Chromium
the plugin finds), never in this test process. The check: the page is styled (Material's CSS
loaded), a screenshot of it is written, and the navigation links to every page under docs/.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BUILD_TIMEOUT = 300
BROWSER_TIMEOUT = 120

SCREENSHOT = """
import json, sys
from playwright.sync_api import sync_playwright
from pytest_anchor_mfa.plugin.playwright import launch_args

url, picture = sys.argv[1], sys.argv[2]
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(**launch_args(None, {"headless": True}))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url, wait_until="load")
    page.screenshot(path=picture, full_page=False)
    print(json.dumps({
        "title": page.title(),
        "header_height": page.locator("header.md-header").bounding_box()["height"],
        "header_background": page.eval_on_selector(
            "header.md-header", "e => getComputedStyle(e).backgroundColor"),
        "nav": page.eval_on_selector_all(
            "nav.md-nav--primary a.md-nav__link[href]", "links => links.map(a => a.href)"),
        "h1": page.inner_text("article h1"),
    }))
    browser.close()
"""


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANCHOR")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NO_MKDOCS_2_WARNING"] = "1"  # Material's banner about MkDocs 2.0, not a build problem
    env["TMPDIR"] = "/tmp"  # Chromium's sockets need short paths
    return env


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs extra: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert build.returncode == 0, build.stderr
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _page_url(base: str, page: Path) -> str:
    relative = page.relative_to(DOCS).with_suffix("")
    if relative.name == "index":
        relative = relative.parent
    path = relative.as_posix()
    return base + (path + "/" if path != "." else "")


def test_the_site_builds_every_page(site: Path) -> None:
    for page in DOCS.rglob("*.md"):
        built = site / page.relative_to(DOCS).with_suffix("") / "index.html"
        if page.name == "index.md":
            built = site / page.relative_to(DOCS).parent / "index.html"
        assert built.is_file(), f"{page} was not built"
    options = (site / "reference" / "options" / "index.html").read_text(encoding="utf-8")
    assert "--anchor-chromium" in options and "ANCHOR_MFA_TIMEOUT" in options
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "totp_secret" in api and "EventsClient" in api  # mkdocstrings rendered the code


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no system Chromium")
def test_the_home_page_renders_and_lists_every_page(served: str, tmp_path: Path) -> None:
    picture = tmp_path / "home.png"
    run = subprocess.run(
        [sys.executable, "-c", SCREENSHOT, served, str(picture)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["title"].startswith("pytest-anchor-mfa")
    assert seen["h1"].startswith("pytest-anchor-mfa")
    assert seen["header_height"] > 20
    assert seen["header_background"] not in ("rgba(0, 0, 0, 0)", "transparent")  # CSS loaded
    assert picture.stat().st_size > 20_000  # a page was drawn, not a blank
    linked = {url.split("#", 1)[0] for url in seen["nav"]}
    missing = [
        str(page.relative_to(DOCS))
        for page in sorted(DOCS.rglob("*.md"))
        if _page_url(served, page) not in linked
    ]
    assert not missing, f"the navigation does not list: {missing}"
