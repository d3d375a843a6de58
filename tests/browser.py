"""Open generated HTML in headless Chromium, offline, and collect what went wrong.

Reusable by any test that renders a page (maps, reports)::

    from browser import open_in_browser

    def test_page(tmp_path, chromium):
        path = tmp_path / "page.html"
        path.write_text(html, encoding="utf-8")
        with open_in_browser(path, browser=chromium) as view:
            assert view.page.locator(".leaflet-container").count() == 1
            assert view.console_errors == []
            assert view.blocked_requests == []

Every request except ``file://`` (and ``data:``/``blob:``, which never reach the router) is
aborted and recorded in ``blocked_requests``, so a page that would fetch a CDN script fails loudly.
The system Chromium (Debian package ``chromium``) is used; Playwright's own browser downloads are
not needed. When Chromium is missing, :func:`launch_chromium` fails with a message saying how to
install it, unless the environment variable ``GEO_SPPA_SKIP_BROWSER=1`` is set, in which case the
calling test is skipped.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SKIP_ENV = "GEO_SPPA_SKIP_BROWSER"


def chromium_path() -> str | None:
    """Return the system Chromium executable, or None."""
    for candidate in (os.environ.get("GEO_SPPA_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"browser test skipped ({SKIP_ENV}=1): {reason}")
    pytest.fail(
        f"browser tests need headless Chromium: {reason}. Install it with "
        "`apt-get install -y chromium` (and `pip install playwright`), or set "
        f"{SKIP_ENV}=1 to skip browser tests",
        pytrace=False,
    )


@contextmanager
def launch_chromium() -> Iterator[object]:
    """Yield a Playwright ``Browser`` running the system Chromium headless."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    executable = chromium_path()
    if executable is None:
        _unavailable("no chromium executable found (looked for /usr/bin/chromium and on PATH)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class BrowserView:
    """A page opened by :func:`open_in_browser` and what it reported.

    Attributes
    ----------
    page
        The Playwright ``Page``.
    console_errors
        Text of every ``console.error`` message and failed resource load, with its URL.
    page_errors
        Uncaught JavaScript exceptions.
    blocked_requests
        ``(url, resource_type)`` of every non-file request the page attempted (all aborted).
    dialogs
        Messages of any ``alert``/``confirm``/``prompt`` (dismissed): a sign injected script ran.
    """

    page: object
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[tuple[str, str]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def errors(self, *, ignore_blocked: tuple[str, ...] = ()) -> list[str]:
        """Return console and page errors, less failed loads of blocked URLs with these prefixes."""
        kept = [
            e
            for e in self.console_errors
            if not (
                ignore_blocked and " @ " in e and e.rsplit(" @ ", 1)[1].startswith(ignore_blocked)
            )
        ]
        return kept + self.page_errors

    def screenshot(self, name: str, *, folder: Path | None = None, wait_ms: int = 400) -> Path:
        """Save a PNG of the page into ``tests/artifacts/`` (gitignored) and return its path.

        Waits ``wait_ms`` first so fade-in animations (Leaflet popups: 200 ms) have finished.
        Headless Chromium without a GPU can capture layers whose raster is stale (controls
        missing, SVG clipped) although the DOM is right, so every element's paint is invalidated
        first (a transparent outline set and removed). For review screenshots prefer a fresh
        page and :func:`click_without_mouse` to open a popup. Never assert on pixels.
        """
        folder = folder or Path(__file__).resolve().parent / "artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        if wait_ms:
            self.page.wait_for_timeout(wait_ms)
        # Force a full repaint; see the docstring.
        self.page.evaluate(
            """async () => {
                const frame = () => new Promise(r => requestAnimationFrame(() => r()));
                const all = Array.from(document.querySelectorAll('body, body *'));
                document.body.style.opacity = '0.99';
                all.forEach(e => { e.style.outline = '1px solid transparent'; });
                await frame(); await frame();
                document.body.style.opacity = '';
                all.forEach(e => { e.style.outline = ''; });
                await frame(); await frame();
                await new Promise(r => setTimeout(r, 100));
                await frame();
            }"""
        )
        self.page.screenshot(path=str(path))
        return path


@contextmanager
def open_in_browser(
    path: Path | str,
    *,
    browser: object | None = None,
    viewport: tuple[int, int] = (1280, 800),
    settle_ms: int = 300,
) -> Iterator[BrowserView]:
    """Open the local HTML file ``path`` in headless Chromium with the network blocked.

    Parameters
    ----------
    path
        An HTML file on disk.
    browser
        A Browser from :func:`launch_chromium` (e.g. the session ``chromium`` fixture) to reuse;
        when None one is launched and closed here.
    viewport
        Width and height in CSS pixels.
    settle_ms
        Extra wait after the ``load`` event, for scripts that run on a timer.
    """
    if browser is None:
        with launch_chromium() as own:
            with open_in_browser(path, browser=own, viewport=viewport, settle_ms=settle_ms) as view:
                yield view
        return
    url = Path(path).resolve().as_uri()
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    view = BrowserView(page=page)

    def route(route_) -> None:
        request = route_.request
        if request.url.startswith("file:"):
            route_.continue_()
        else:
            view.blocked_requests.append((request.url, request.resource_type))
            route_.abort()

    def on_console(message) -> None:
        if message.type == "error":
            where = (message.location or {}).get("url", "")
            view.console_errors.append(f"{message.text} @ {where}")

    def on_dialog(dialog) -> None:
        view.dialogs.append(dialog.message)
        dialog.dismiss()

    page.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda error: view.page_errors.append(str(error)))
    page.on("dialog", on_dialog)
    try:
        page.goto(url, wait_until="load")
        if settle_ms:
            page.wait_for_timeout(settle_ms)
        yield view
    finally:
        context.close()


def click_without_mouse(locator) -> None:
    """Fire a ``click`` DOM event at the centre of ``locator``'s element, with no mouse input.

    Leaflet places a path's popup where the click was, so the event carries the element's centre
    as ``clientX``/``clientY``. Use this before :meth:`BrowserView.screenshot`; use
    ``locator.click()`` when testing real interaction.
    """
    box = locator.bounding_box()
    if box is None:
        raise AssertionError(f"{locator} is not visible, so it cannot be clicked")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    locator.dispatch_event("click", {"clientX": x, "clientY": y, "button": 0})
