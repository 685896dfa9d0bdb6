"""The dashboard used the way a person uses it: a real `argus serve`, Debian's Chromium, clicks and keys.

The story: three models in a store built with our own clock, its windows ending a minute before now.
``fraud`` (team risk) drifts on x0 from its third window and loses x3 upstream (renamed x3_v2) from its
fourth: a P0 incident is open; it serves two versions and is segmented by ``cat``. ``ranker`` (team growth)
drifts only in its last window: an alert is pending, so it is a warning. ``churn`` (team growth) is clean:
ok. Then `argus serve` (a child process, the real clock, a token list) serves that store, and the browser
loads the overview, filters and sorts it, drills down model -> version -> segment -> the drifted feature,
opens the incident and acknowledges it with the write token, switches views, and reaches a model page by
keyboard alone. On every page: nothing in the console, no request answered with an error.

Only the stable test hooks are used (``body[data-ready]``, ``table#models tr[data-model]``, ...), and every
value the page shows is compared with what the JSON API answers for the same question. A PNG of each page
is left in test-artifacts/screenshots/.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import httpx
import numpy as np
import pytest

from argusml.monitor import Settings
from argusml.schema.model_config import model_config_from_dict, token_document
from argusml.service.auth import digest, new_token
from browser_util import chromium, problems, require_browser, shoot, wait_ready
from service_util import FAST, Clock, Server, event, make_reference, start_monitor

pytestmark = [pytest.mark.slow, pytest.mark.service]

try:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import Select
except ImportError:  # pragma: no cover - require_browser skips (or fails under CI) first
    pass

WINDOWS = 5
PER_WINDOW = 300
T = TypeVar("T")


@dataclass
class Dashboard:
    url: str
    token: str
    models: dict[str, dict[str, Any]]
    """``/v1/models``' answer by model name, read once the server is up."""

    def api(self, path: str, **params: Any) -> Any:
        r = httpx.get(self.url + path, params=params, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:300]}"
        return r.json()


def _config(name: str, team: str, owner: str) -> Any:
    return model_config_from_dict({
        "model": name, "team": team, "owner": owner, "description": f"the {name} model",
        "window": "1m", "lateness": "0s", "segments": ["cat"],
        "slos": {"error_rate": {"objective": 0.99}},
    }, f"{name}.yaml")


def build_story(data: Path) -> None:
    """Write the story's store at ``data``: registered models, closed windows, their alerts and incidents."""
    quiet = Settings(**FAST, alert_every=3600.0, alert_on_close=False)  # one alert pass per window, ours
    clock = Clock(math.floor(time.time() / 60) * 60 - (WINDOWS + 1) * 60)
    ref = make_reference()
    running = start_monitor(data, *((_config(n, t, o), ref) for n, t, o in (
        ("fraud", "risk", "alice"), ("ranker", "growth", "carol"), ("churn", "growth", "bob"))),
        clock=clock, settings=quiet)
    try:
        for w in range(WINDOWS):
            for k, name in enumerate(("fraud", "ranker", "churn")):
                rng = np.random.default_rng(100 * w + k + 7)
                batch = []
                for i in range(PER_WINDOW):
                    e = event(f"{name}-{w}-{i}", rng, timestamp=clock.t + i * 0.1, status=200,
                              latency_ms=float(20 + rng.gamma(2.0, 10.0)),
                              version="v2" if name == "fraud" and i % 2 else "v1")
                    if (name == "fraud" and w >= 2) or (name == "ranker" and w == WINDOWS - 1):
                        e["features"]["x0"] += 1.5
                    if name == "fraud" and w >= 3:
                        e["features"]["x3_v2"] = e["features"].pop("x3")
                    batch.append(e)
                r = running.client.post(f"/v1/models/{name}/events", json=batch)
                assert r.status_code == 200, r.text
            clock.advance(60)
            assert running.monitor.wait_idle()
            running.monitor.alerting.run_once()
        # the performance windows (label-free estimates per version and segment) now, not on the job's
        # cadence, so the performance panels have them
        running.monitor.update_performance(force=True)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    require_browser()
    d = tmp_path_factory.mktemp("dashboard")
    build_story(d / "data")
    token = new_token()
    (d / "tokens.yaml").write_text(token_document({"name": "ops", "sha256": digest(token),
                                                    "scopes": ["read", "write"]}))
    server = Server(None, d / "data", args=["--tokens", str(d / "tokens.yaml")])
    try:
        auth = {"Authorization": f"Bearer {token}"}
        server.wait_ready(headers=auth)
        got = httpx.get(server.url + "/v1/models", headers=auth).json()
        yield Dashboard(server.url, token, {m["model"]: m for m in got["models"]})
    finally:
        server.stop()


@pytest.fixture(scope="module")
def drv(dash: Dashboard) -> Iterator[WebDriver]:
    """The browser, signed in the way a person signs in: the first page's calls are answered 401, the page
    opens its token form, the token is typed and submitted, and the page draws (the token is kept in local
    storage for the pages that follow)."""
    driver = chromium()
    try:
        driver.get(dash.url + "/")
        form = until("the token form after a 401", lambda: (f := driver.find_element(By.ID, "token-form")).is_displayed()
                     and f)
        form.find_element(By.ID, "token-input").send_keys(dash.token, Keys.ENTER)
        assert wait_ready(driver) == "true"
        seen = problems(driver)
        assert seen and all("401" in p for p in seen), f"before the token only 401s are expected: {seen}"
        yield driver
    finally:
        driver.quit()


def until(what: str, fn: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll ``fn`` until it returns something truthy (a page redrawn after a click); fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not seen in {timeout:g} s"
        time.sleep(0.05)


def visit(drv: WebDriver, url: str, shot: str | None = None) -> None:
    """Open ``url``, wait for the page to say it is drawn, and check it drew without an error."""
    drv.get(url)
    settled(drv, shot)


def settled(drv: WebDriver, shot: str | None = None) -> None:
    state = wait_ready(drv)
    error = drv.execute_script("var e = document.getElementById('error'); return e ? e.innerText : ''")
    assert state == "true", f"{drv.current_url}: data-ready={state!r}, #error says {error!r}"
    assert problems(drv) == [], drv.current_url
    if shot:
        shoot(drv, shot)


def choose(drv: WebDriver, css: str, value: str) -> None:
    """Pick ``value`` in the select at ``css`` once the page is drawn (a select found mid-redraw is gone by
    the time it is used)."""
    for _ in range(50):
        wait_ready(drv)
        try:
            Select(drv.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
            return
        except StaleElementReferenceException:
            time.sleep(0.05)
    raise AssertionError(f"{css}: the select kept being redrawn before {value!r} could be picked")


def rows(drv: WebDriver) -> list[WebElement]:
    return drv.find_elements(By.CSS_SELECTOR, "table#models tr[data-model]")


def shown(drv: WebDriver) -> list[str]:
    """The models the overview lists, in order, once it is drawn (read in one call: the table is redrawn
    after each filter or sort, so elements found before that are gone)."""
    return drv.execute_script("return document.body.dataset.ready !== 'true' ? null : Array.from("
                              "document.querySelectorAll('table#models tr[data-model]'), r => r.dataset.model)") or []


def query(drv: WebDriver) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(drv.current_url).query).items()}


def test_the_story_is_what_the_api_says(dash: Dashboard) -> None:
    """The pages are checked against these states; a story that no longer makes them tests nothing."""
    assert {m: v["health"]["state"] for m, v in dash.models.items()} == {
        "fraud": "incident", "ranker": "warning", "churn": "ok"}, {m: v["health"] for m, v in dash.models.items()}
    assert dash.models["fraud"]["incidents"]["P0"] == 1


def test_the_overview_shows_every_model_as_the_api_does(drv: WebDriver, dash: Dashboard) -> None:
    visit(drv, dash.url + "/", "overview")
    assert sorted(shown(drv)) == sorted(dash.models)
    for row in rows(drv):
        name = row.get_attribute("data-model") or ""
        m = dash.models[name]
        assert row.get_attribute("data-health") == m["health"]["state"], name
        # colour is never the only signal: the state is written in the row
        assert m["health"]["state"] in row.text.lower(), (name, row.text)
        assert m["team"] in row.text, (name, row.text)
        assert row.find_elements(By.CSS_SELECTOR, f'a[href^="/models/{name}"]'), f"{name}: no link to its page"
    fraud = next(r for r in rows(drv) if r.get_attribute("data-model") == "fraud")
    assert "P0" in fraud.text and "P1" not in fraud.text, fraud.text  # its open incident, by tier


def test_filters_narrow_the_overview_and_headers_sort_it(drv: WebDriver, dash: Dashboard) -> None:
    visit(drv, dash.url + "/")
    drv.find_element(By.CSS_SELECTOR, "input#filter-q").send_keys("RANK")
    until("the name filter 'RANK' leaves only ranker", lambda: shown(drv) == ["ranker"])
    assert query(drv).get("q") == "RANK", "the filter is in the URL"
    drv.find_element(By.CSS_SELECTOR, "input#filter-q").send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
    until("clearing the name filter shows every model", lambda: len(shown(drv)) == len(dash.models))

    choose(drv, "select#filter-team", "growth")
    until("team=growth shows ranker and churn", lambda: sorted(shown(drv)) == ["churn", "ranker"])
    choose(drv, "select#filter-owner", "bob")
    until("team=growth, owner=bob shows churn", lambda: shown(drv) == ["churn"])
    choose(drv, "select#filter-owner", "")
    choose(drv, "select#filter-team", "")
    choose(drv, "select#filter-health", "incident")
    until("health=incident shows fraud", lambda: shown(drv) == ["fraud"])
    choose(drv, "select#filter-health", "")
    until("no filter shows every model", lambda: len(shown(drv)) == len(dash.models))
    settled(drv)

    for key in ("health", "name"):
        up = [m["model"] for m in dash.api("/v1/models", sort=key)["models"]]
        down = [m["model"] for m in dash.api("/v1/models", sort=f"-{key}")["models"]]
        assert up != down
        button = drv.find_element(By.CSS_SELECTOR, f'th button[data-sort="{key}"]')
        button.click()
        first = until(f"sorting by {key}", lambda up=up, down=down: (s := shown(drv)) in (up, down) and s)
        drv.find_element(By.CSS_SELECTOR, f'th button[data-sort="{key}"]').click()
        other = down if first == up else up
        until(f"a second click on {key} reverses the order", lambda other=other: shown(drv) == other)
        settled(drv)
    shoot(drv, "overview-sorted")


def test_drill_down_to_the_drifted_feature(drv: WebDriver, dash: Dashboard) -> None:
    visit(drv, dash.url + "/")
    drv.find_element(By.CSS_SELECTOR, 'tr[data-model="fraud"] a[href^="/models/fraud"]').click()
    until("the fraud model page", lambda: urlparse(drv.current_url).path == "/models/fraud")
    settled(drv, "model")
    api = dash.api("/v1/models/fraud/features")
    table = {r.get_attribute("data-feature"): r.get_attribute("data-drifted")
             for r in drv.find_elements(By.CSS_SELECTOR, "table#features tr[data-feature]")}
    assert table == {f["name"]: "true" if f["drift"] and f["drift"]["drifted"] else "false" for f in api["features"]}
    order = [r.get_attribute("data-feature") for r in drv.find_elements(By.CSS_SELECTOR, "table#features tr[data-feature]")]
    assert order == [f["name"] for f in api["features"]], "the feature table is sorted by drift, as the API sorts it"
    assert order[0] == "x0" and table["x0"] == "true"
    for panel in ("features", "drift", "quality", "performance", "incidents"):  # the ml view's panels
        assert drv.find_elements(By.CSS_SELECTOR, f'section[data-panel="{panel}"]'), f"no {panel} panel"

    choose(drv, "select#version", "v2")
    until("version=v2 in the URL", lambda: query(drv).get("version") == "v2")
    settled(drv, "model-version")
    segments = [o.get_attribute("value") for o in Select(drv.find_element(By.CSS_SELECTOR, "select#segment")).options]
    listed = dash.api("/v1/models/fraud/status")["segments"]  # the segments with a closed window
    assert listed and all(s.startswith("cat=") for s in listed) and set(listed) <= set(segments), (listed, segments)
    segment = next(s for s in segments if s and s != "*" and s.startswith("cat="))
    choose(drv, "select#segment", segment)
    until(f"segment={segment} in the URL", lambda: query(drv).get("segment") == segment)
    settled(drv, "model-segment")
    link = drv.find_element(By.CSS_SELECTOR, 'tr[data-feature="x0"] a[href^="/models/fraud/features/x0"]')
    link.click()
    until("the x0 feature page", lambda: urlparse(drv.current_url).path == "/models/fraud/features/x0")
    settled(drv, "feature")
    assert (query(drv).get("version"), query(drv).get("segment")) == ("v2", segment), "drill-down keeps its place"
    figure = drv.find_element(By.CSS_SELECTOR, "figure#distribution")
    assert figure.is_displayed() and figure.size["height"] > 100, "the distribution figure is drawn"
    caption = figure.find_element(By.TAG_NAME, "figcaption").text
    assert "x0" in caption and len(caption) > 20, caption
    assert figure.find_elements(By.CSS_SELECTOR, "svg, canvas"), "the figure holds a chart"
    feature = dash.api("/v1/models/fraud/features/x0", version="v2", segment=segment)
    assert feature["distribution"]["type"] == "numeric" and feature["history"]


def test_open_the_incident_and_acknowledge_it(drv: WebDriver, dash: Dashboard) -> None:
    (incident,) = dash.api("/v1/incidents", model="fraud")
    assert incident["status"] == "open"
    visit(drv, dash.url + "/models/fraud")
    drv.find_element(By.CSS_SELECTOR, f'section#incidents a[href^="/incidents/{incident["id"]}"]').click()
    until("the incident page", lambda: urlparse(drv.current_url).path == f"/incidents/{incident['id']}")
    settled(drv, "incident")
    article = drv.find_element(By.CSS_SELECTOR, "article#incident")
    assert article.get_attribute("data-status") == "open"
    assert incident["title"] in article.text
    assert len(drv.find_elements(By.CSS_SELECTOR, "ol#timeline li")) >= 1
    causes = drv.find_elements(By.CSS_SELECTOR, "ol#causes li")
    assert len(causes) == len(incident["causes"]) >= 1
    drv.find_element(By.CSS_SELECTOR, 'button[data-action="ack"]').click()
    until("the incident page shows it acknowledged",
          lambda: drv.find_element(By.CSS_SELECTOR, "article#incident").get_attribute("data-status") == "acknowledged")
    settled(drv, "incident-acknowledged")
    assert dash.api(f"/v1/incidents/{incident['id']}")["status"] == "acknowledged"


def test_views_switch_by_the_nav_and_the_url(drv: WebDriver, dash: Dashboard) -> None:
    for page, path in (("overview", "/"), ("model", "/models/fraud")):
        visit(drv, dash.url + path)
        for view in ("sre", "business", "exec", "ml"):
            drv.find_element(By.CSS_SELECTOR, f'nav#views a[data-view="{view}"]').click()
            until(f"{page}: view={view} in the URL", lambda view=view: query(drv).get("view", "ml") == view)
            settled(drv, f"{page}-{view}")
            current = drv.find_elements(By.CSS_SELECTOR, 'nav#views a[aria-current="page"]')
            assert [a.get_attribute("data-view") for a in current] == [view]
            assert urlparse(drv.current_url).path == path
            if page == "model" and view == "sre":
                assert drv.find_elements(By.CSS_SELECTOR, 'section[data-panel="ops"]'), "the SRE view has no ops panel"
        visit(drv, f"{dash.url}{path}?view=exec")  # the URL alone picks the view: it can be pasted
        current = drv.find_elements(By.CSS_SELECTOR, 'nav#views a[aria-current="page"]')
        assert [a.get_attribute("data-view") for a in current] == ["exec"]


def test_a_model_page_by_keyboard_alone(drv: WebDriver, dash: Dashboard) -> None:
    visit(drv, dash.url + "/")
    href = ""
    for _ in range(80):
        ActionChains(drv).send_keys(Keys.TAB).perform()
        href = drv.execute_script("var a = document.activeElement; return a && a.getAttribute('href') || ''")
        if href.startswith("/models/"):
            break
    assert href.startswith("/models/"), "no model link is reachable with Tab from the top of the overview"
    focused = drv.switch_to.active_element
    assert drv.execute_script("var s = getComputedStyle(arguments[0]); return arguments[0].matches(':focus-visible') "
                              "&& (s.outlineStyle !== 'none' || s.boxShadow !== 'none')", focused), \
        f"the focused link {href} shows no focus ring"
    ActionChains(drv).send_keys(Keys.ENTER).perform()
    until(f"Enter on {href} opens it", lambda: urlparse(drv.current_url).path == href.split("?")[0])
    settled(drv, "model-by-keyboard")
