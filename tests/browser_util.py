"""Driving the dashboard in Debian's Chromium: the browser, what a page must not do, and when it is drawn.

Shared by tests/test_dashboard_browser.py, bench/dashboard_overview.py and scripts/screenshot.py. The pages
say when they are done through one hook, ``document.body.dataset.ready`` ("true" once every panel is drawn,
"error" with a message in ``#error`` when a call failed); everything here waits on it rather than on time.

A page's problems are read from two places, because each misses things the other sees: Chromium's console
log (uncaught errors, ``console.error``, and the "Failed to load resource" line it writes for every request
answered 4xx/5xx or not at all) and the page's own Resource Timing entries (the HTTP status of each fetch
and asset). An init script installed before any page script records uncaught errors and rejected promises
as well, so an error swallowed by a later ``window.onerror`` is still seen, and the moment the page set
``data-ready="true"`` (``window.__readyAt``, milliseconds since the navigation started) for the benchmark.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
"""Where the browser tests leave a PNG of every page they drew (gitignored; CI can keep it as an artifact)."""

try:  # selenium is a dev extra; without it the browser tests skip (or fail under CI=true)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.remote.webdriver import WebDriver

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_SELENIUM = False

INIT = """
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push('error: ' + String(e.message || (e.target && (e.target.src || e.target.href)) || e));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__errors.push('unhandled rejection: ' + String(e.reason && (e.reason.stack || e.reason)));
});
window.__readyAt = null;
new MutationObserver(function () {
  if (window.__readyAt === null && document.body && document.body.dataset.ready === 'true') {
    window.__readyAt = performance.now();
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-ready']});
"""


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when Selenium, Chromium and chromedriver are all there."""
    if not HAVE_SELENIUM:
        return "selenium is not installed (pip install -e '.[dev]')"
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return (f"{' and '.join(missing)} missing: run scripts/install-test-deps.sh "
                "(Debian: apt-get install chromium chromium-driver)")
    return None


def require_browser() -> None:
    """Skip with the reason when there is no browser, except under CI=true, where that is a failure: CI runs
    scripts/install-test-deps.sh first, so a missing Chromium there is a broken install, not a choice."""
    import pytest

    why = browser_missing()
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {why}")
    pytest.skip(why)


def chromium(width: int = 1280, height: int = 900) -> WebDriver:
    """Headless Chromium through chromedriver, its console log kept and INIT installed on every document."""
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--hide-scrollbars", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": INIT})
    return drv


def wait_ready(drv: WebDriver, timeout: float = 15.0) -> str:
    """Wait until ``body[data-ready]`` is "true" (or "error"); the value. A page that never says either is a
    failure naming the URL and what the page showed, since a hang is what the hook exists to rule out."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = drv.execute_script("return document.body ? document.body.dataset.ready || null : null")
        if state in ("true", "error"):
            return str(state)
        time.sleep(0.02)
    text = drv.execute_script("return document.body ? document.body.innerText.slice(0, 500) : ''")
    raise AssertionError(f"{drv.current_url}: body[data-ready] is {state!r} after {timeout:g} s, not 'true' "
                         f"or 'error'; the page shows: {text!r}; problems: {problems(drv)}")


def problems(drv: WebDriver) -> list[str]:
    """What went wrong on the page since the last call: console errors (which include every failed request)
    and resources answered with an HTTP error. Reading the console log empties it, so each page's check
    sees only its own."""
    found = [f"console {e.get('level')}: {e.get('message')}" for e in drv.get_log("browser")
             if e.get("level") == "SEVERE"]
    found += [str(e) for e in drv.execute_script("return window.__errors || []")]
    bad: list[dict[str, Any]] = drv.execute_script(
        "return performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))"
        ".filter(function (e) { return e.responseStatus >= 400; })"
        ".map(function (e) { return {url: e.name, status: e.responseStatus}; })")
    found += [f"HTTP {b['status']}: {b['url']}" for b in bad]
    return found


def shoot(drv: WebDriver, name: str, full_page: bool = True) -> Path:
    """Save a PNG of the page as ``test-artifacts/screenshots/NAME.png``; with ``full_page`` the window is
    first made as tall as the document so the whole page is on it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = drv.get_window_size()
    if full_page:
        height = int(drv.execute_script("return Math.max(document.documentElement.scrollHeight, "
                                        "document.body ? document.body.scrollHeight : 0)"))
        drv.set_window_size(size["width"], max(size["height"], min(height + 20, 6000)))
    try:
        assert drv.save_screenshot(str(path)), f"Chromium saved no screenshot of {drv.current_url}"
    finally:
        if full_page:
            drv.set_window_size(size["width"], size["height"])
    return path
