"""The HTML report, checked where it is used: in a real browser.

String checks on the HTML cannot tell whether a chart is drawn, whether a
hostile column name runs, or whether the page quietly fetches something.
Headless Chromium can: these tests open the file offline and look.

The browser tests skip (with the reason) only when Chromium or Selenium is
absent; `scripts/install-test-deps.sh` installs Chromium on Debian. The tests
at the end need no browser and always run.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import argusml
from argusml.reports.html import render_html

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
EVIL = "<img src=x onerror=alert(1)>"

try:  # selenium is a dev extra; without it only the browser tests skip
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_SELENIUM = False

needs_browser = pytest.mark.skipif(
    not HAVE_SELENIUM or not os.path.exists(CHROMIUM),
    reason=("selenium is not installed (pip install -e '.[dev]')" if not HAVE_SELENIUM else
            f"{CHROMIUM} is missing: run scripts/install-test-deps.sh (Debian: apt-get install chromium chromium-driver)"),
)

# Installed before any page script runs: records alerts (a hostile name that executed would
# call alert) and uncaught errors, instead of letting an alert block the page.
HOOKS = """
window.__alerts = [];
window.__errors = [];
window.alert = function (m) { window.__alerts.push(String(m)); };
window.addEventListener('error', function (e) { window.__errors.push(String(e.message || e)); }, true);
"""


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One drifted numeric, one drifted categorical, a stable column with a hostile name."""
    rng = np.random.default_rng(5)
    n = 3_000
    ref = pd.DataFrame({
        "income": rng.lognormal(10, 0.5, n),
        "channel": rng.choice(["web", "app", "store"], n, p=[0.5, 0.3, 0.2]),
        EVIL: rng.normal(0, 1, n),
        "age": rng.integers(18, 91, n).astype(float),
    })
    cur = pd.DataFrame({
        "income": rng.lognormal(10.4, 0.5, n),
        "channel": rng.choice(["web", "app", "store", "kiosk"], n, p=[0.3, 0.3, 0.2, 0.2]),
        EVIL: rng.normal(0, 1, n),
        "age": rng.integers(18, 91, n).astype(float),
    })
    return ref, cur


@pytest.fixture(scope="module")
def report_dict() -> dict[str, Any]:
    ref, cur = _frames()
    return argusml.report(ref, cur).to_dict()


@pytest.fixture(scope="module")
def report_file(report_dict: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(report_dict), encoding="utf-8")
    return path


def headless_chromium() -> WebDriver:
    """Debian's Chromium, headless, its console log kept: what every browser test here drives."""
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    if not HAVE_SELENIUM or not os.path.exists(CHROMIUM):
        pytest.skip("no browser")  # needs_browser says why; this guards direct use
    drv = headless_chromium()
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOKS})
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def page(driver: WebDriver, report_file: Path) -> WebDriver:
    driver.get(report_file.as_uri())
    return driver


def _column_card(drv: WebDriver, name: str) -> WebElement:
    for card in drv.find_elements(By.CSS_SELECTOR, "details.col"):
        if card.find_element(By.CSS_SELECTOR, ".cname").text == name:
            return card
    raise AssertionError(f"no column card for {name!r}")


@pytest.mark.slow
@needs_browser
def test_verdict_and_summary_are_visible(page: WebDriver, report_dict: dict[str, Any]) -> None:
    assert report_dict["verdict"]["status"] == "drift"
    verdict = page.find_element(By.CSS_SELECTOR, ".vbox .big")
    assert verdict.is_displayed()
    assert verdict.text == "DRIFT"
    by_sev = report_dict["verdict"]["findings_by_severity"]
    for sev, count in by_sev.items():
        assert page.find_element(By.CSS_SELECTOR, f'.val[data-sev="{sev}"]').text == str(count)
    assert "of 4 tested" in page.find_element(By.CSS_SELECTOR, ".cards").text


@pytest.mark.slow
@needs_browser
def test_findings_table_lists_every_finding_in_order(page: WebDriver, report_dict: dict[str, Any]) -> None:
    rows = page.find_elements(By.CSS_SELECTOR, "table.findings tbody tr")
    findings = report_dict["findings"]
    assert len(rows) == len(findings) >= 2
    for row, f in zip(rows, findings, strict=True):
        cells = row.find_elements(By.TAG_NAME, "td")
        assert [c.text for c in cells[:3]] == [f["severity"], f["check"], f["column"] or "(table)"]
        assert cells[3].text == f["message"]


@pytest.mark.slow
@needs_browser
def test_drifted_columns_show_drawn_charts(page: WebDriver, report_dict: dict[str, Any]) -> None:
    drifted = report_dict["verdict"]["drifted_columns"]
    assert {"income", "channel"} <= set(drifted)
    for name in drifted:
        card = _column_card(page, name)
        assert card.get_attribute("open") is not None, f"{name}: a drifted column must be expanded"
        svg = card.find_element(By.CSS_SELECTOR, "svg.chart")
        assert svg.is_displayed()
        assert svg.size["width"] > 300 and svg.size["height"] > 100
        kind = report_dict["columns"][name]["distribution"]["type"]
        if kind == "numeric":  # density step lines for reference and current
            paths = [p.get_attribute("d") or "" for p in svg.find_elements(By.CSS_SELECTOR, "path.rl, path.cl")]
            assert len(paths) == 2 and all(len(d) > 50 for d in paths)
        else:  # grouped bars, one reference and one current bar per category
            n_cats = len(report_dict["columns"][name]["distribution"]["categories"])
            bars = svg.find_elements(By.CSS_SELECTOR, "rect.rb, rect.cb")
            assert len(bars) == 2 * n_cats
            assert sum(float(b.get_attribute("width")) > 0 for b in bars) >= n_cats
        legend = svg.find_elements(By.CSS_SELECTOR, "text.lg")
        assert [t.text for t in legend] == ["reference", "current"]


@pytest.mark.slow
@needs_browser
def test_hostile_column_name_is_text_and_nothing_runs(page: WebDriver) -> None:
    card = _column_card(page, EVIL)  # found by its visible text: rendered as text, not as an element
    assert card.find_element(By.CSS_SELECTOR, ".cname").text == EVIL
    assert page.find_elements(By.TAG_NAME, "img") == []
    assert page.execute_script("return window.__alerts") == []
    assert page.execute_script("return window.__errors") == []
    severe = [e for e in page.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []


@pytest.mark.slow
@needs_browser
def test_page_makes_no_network_requests(page: WebDriver, report_file: Path) -> None:
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    html = report_file.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html


@pytest.mark.slow
@needs_browser
def test_filter_hides_other_columns(page: WebDriver) -> None:
    box = page.find_element(By.CSS_SELECTOR, "[data-q]")
    box.send_keys("chan")
    try:
        shown = [c.find_element(By.CSS_SELECTOR, ".cname").text
                 for c in page.find_elements(By.CSS_SELECTOR, "details.col") if c.is_displayed()]
        assert shown == ["channel"]
    finally:
        box.clear()
        page.execute_script("arguments[0].dispatchEvent(new Event('input'))", box)


@pytest.mark.slow
@needs_browser
def test_screenshot_is_not_blank(page: WebDriver, tmp_path: Path) -> None:
    page.set_window_size(1280, 1600)
    path = tmp_path / "report.png"
    assert page.save_screenshot(str(path))
    data = path.read_bytes()
    width, height, distinct = _png_stats(data)
    assert width >= 1000 and height >= 1000
    assert len(data) > 30_000, "a rendered report compresses to far more than a blank page"
    assert distinct > 100, "the screenshot is (almost) one colour"


@pytest.mark.slow
@needs_browser
def test_embedded_fragment_does_not_restyle_the_host(driver: WebDriver, report_dict: dict[str, Any],
                                                     tmp_path: Path) -> None:
    host = ('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
            '<table id="host"><tr><td id="cell">host cell</td></tr></table><h2 id="h">host heading</h2>{}'
            '</body></html>')
    plain, embedded = tmp_path / "plain.html", tmp_path / "embedded.html"
    plain.write_text(host.format(""), encoding="utf-8")
    embedded.write_text(host.format(render_html(report_dict, embedded=True)), encoding="utf-8")
    probe = ("var s = function (id) { var c = getComputedStyle(document.getElementById(id));"
             " return [c.fontFamily, c.fontSize, c.padding, c.borderBottom, c.color].join('|'); };"
             " return [s('cell'), s('h'), document.querySelectorAll('.argus-report svg.chart').length];")
    driver.get(plain.as_uri())
    before = driver.execute_script(probe)
    driver.get(embedded.as_uri())
    after = driver.execute_script(probe)
    assert after[:2] == before[:2]
    assert after[2] >= 2
    assert driver.execute_script("return window.__alerts") == []
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def _png_stats(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values in the pixel data (no imaging library needed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


# ---------------------------------------------------------------------------
# No browser needed
# ---------------------------------------------------------------------------


def test_hostile_strings_are_escaped_in_the_source(report_dict: dict[str, Any]) -> None:
    hostile = json.loads(json.dumps(report_dict))
    hostile["reference"]["source"] = "</script><script>alert(2)</script>"
    hostile["findings"][0]["message"] = "<b onmouseover=alert(3)>x</b>"
    dist = hostile["columns"]["channel"]["distribution"]
    dist["categories"][0] = "<svg onload=alert(4)>"
    html = render_html(hostile)
    for raw in (EVIL, "<script>alert(2)", "<b onmouseover", "<svg onload"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<script") == 1  # the page's own filter script, nothing else


def test_embedded_is_a_scoped_fragment(report_dict: dict[str, Any]) -> None:
    frag = render_html(report_dict, embedded=True)
    assert frag.lstrip().startswith('<div class="argus-report"')
    for tag in ("html", "head", "body", "!DOCTYPE"):
        assert not re.search(rf"<{tag}[\s>]", frag, re.I), tag
    css = re.search(r"<style>(.*?)</style>", frag, re.S)
    assert css is not None
    rules = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", r"\1", css.group(1))
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", rules) for s in block.split(",")]
    assert selectors and all(s.startswith(".argus-report") for s in selectors), \
        [s for s in selectors if not s.startswith(".argus-report")]


def test_report_with_missing_pieces_renders(report_dict: dict[str, Any]) -> None:
    """Zero findings, no distribution, empty summary, absent column, untested column, odd nulls."""
    r = json.loads(json.dumps(report_dict))
    r["findings"] = []
    r["verdict"] = {"status": "ok", "drifted_columns": []}
    r["correlations"] = {"method": "pearson", "tested": False, "pairs": [], "changed": []}
    cols = r["columns"]
    cols["income"]["distribution"] = None
    cols["income"]["summary"] = {}
    cols["channel"]["quality"] = {"present": False, "reference_missing_ratio": 0.0}
    cols["channel"]["drift"] = {"status": "not_tested", "drifted": False, "test": None, "effect": None,
                                "scores": {}, "detectable_effect": None, "reason": "column missing"}
    cols["age"]["drift"]["test"]["p_adjusted"] = None
    cols["age"]["drift"]["scores"] = {"psi": None}
    cols["age"]["distribution"]["reference"][0] = None  # a non-finite share: no chart rather than a crash
    html = render_html(r)
    assert "No findings" in html
    assert "missing from the current data" in html
    assert "No distribution to draw" in html
    assert "not tested" in html


def test_size_stays_small_for_many_columns() -> None:
    """Aggregates only: 30 columns of 20k rows render to a few hundred KB, not megabytes."""
    rng = np.random.default_rng(9)
    n = 20_000
    ref = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i % 3, n) for i in range(24)}
                       | {f"c{i}": rng.choice([f"v{j}" for j in range(30)], n) for i in range(6)})
    cur = ref.copy()
    cur["x0"] = cur["x0"] + 0.5
    html = argusml.report(ref, cur).to_html()
    assert len(html.encode("utf-8")) < 500_000
    assert html.count("<svg") == 30
