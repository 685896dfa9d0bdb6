"""What a new user meets first, against the real thing: tokens appended by `argus token create >>` and read by
`argus serve`, the README's curl commands (curl -d sends a form content type), /docs with no internet and
with auth on, and the OpenAPI document (the bearer scheme, and answer schemas the real answers satisfy).

`argus serve` runs in a child process (tests/service_util.py's Server) with a config folder written the way
the docs say; the schema test uses the real app under uvicorn over a real store with our clock, so that
windows close, findings and performance exist, and every documented shape is held to a full answer.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import numpy as np
import pytest

from argusml.monitor import Settings
from argusml.schema.model_config import ModelConfig
from service_util import T0, Clock, LiveServer, Server, event, make_reference, start_monitor, write_config
from test_html_browser import headless_chromium, needs_browser
from test_serve_cli import token_create_appended

pytestmark = pytest.mark.service

FORM = {"content-type": "application/x-www-form-urlencoded"}  # what `curl -d` sends unless told otherwise
GET_ANSWERS = {  # the GET routes whose answers the OpenAPI document describes, and the schema of each
    "/v1/models": "ModelList",
    "/v1/models/{model}": "ModelDetail",
    "/v1/models/{model}/status": "StatusAnswer",
    "/v1/models/{model}/findings": "FindingList",
    "/v1/models/{model}/windows": "WindowList",
    "/v1/models/{model}/performance": "PerformanceList",
    "/v1/models/{model}/compare": "CompareAnswer",
    "/v1/models/{model}/advice": "AdviceAnswer",
}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """`argus serve` on a folder with model 'm' and a tokens.yaml grown by two `argus token create >>`."""
    d = tmp_path_factory.mktemp("onboarding")
    cfg = write_config(d / "models", make_reference(500))
    tokens = {"ingest": token_create_appended(cfg / "tokens.yaml", "ingest", "--scope", "write"),
              "dashboard": token_create_appended(cfg / "tokens.yaml", "dashboard", "--scope", "read")}
    server = Server(cfg, d / "data")
    try:
        server.wait_ready(headers=bearer(tokens["dashboard"]))
        yield server, tokens
    finally:
        server.stop()


# -- tokens ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_tokens_appended_by_token_create_authenticate_in_serve(served: tuple[Server, dict[str, str]]) -> None:
    server, tokens = served
    rng = np.random.default_rng(1)
    r = httpx.post(f"{server.url}/v1/models/m/events", json=[event("tok-1", rng)], headers=bearer(tokens["ingest"]))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    r = httpx.get(f"{server.url}/v1/models/m/status", headers=bearer(tokens["dashboard"]))
    assert r.status_code == 200 and r.json()["model"] == "m", r.text
    # each token has the scope it was created with, and only that one
    r = httpx.get(f"{server.url}/v1/models/m/status", headers=bearer(tokens["ingest"]))
    assert r.status_code == 403 and r.json()["detail"] == "token 'ingest' lacks the 'read' scope"
    r = httpx.post(f"{server.url}/v1/models/m/events", json=[event("tok-2", rng)], headers=bearer(tokens["dashboard"]))
    assert r.status_code == 403 and r.json()["detail"] == "token 'dashboard' lacks the 'write' scope"
    assert httpx.get(f"{server.url}/v1/models/m/status").status_code == 401


# -- curl's content type -----------------------------------------------------------------------------------
def test_json_sent_as_curl_sends_it_is_read_as_json_on_every_ingest_route(served: tuple[Server, dict[str, str]]
                                                                         ) -> None:
    """`curl -d '[...]'` labels the body application/x-www-form-urlencoded; a body with no type at all is
    what other clients send. Both, when the body is JSON, are read as JSON on events, labels, outcomes and
    resources: the counters and the resource gauge show that each one was taken."""
    server, tokens = served
    rng = np.random.default_rng(2)
    write, read = bearer(tokens["ingest"]), bearer(tokens["dashboard"])
    before = httpx.get(f"{server.url}/v1/models/m/status", headers=read).json()
    for n, headers in enumerate((FORM, {})):
        ev = event(f"curl-{n}", rng)
        sent = {"events": [ev], "labels": [{"id": ev["id"], "label": 1}],
                "outcomes": [{"id": ev["id"], "name": "conversion"}],
                "resources": {"instance": f"host-{n}", "values": {"cpu_ratio": 0.25 + n}}}
        for route, body in sent.items():
            r = httpx.post(f"{server.url}/v1/models/m/{route}", content=json.dumps(body).encode(),
                           headers={**write, **headers})
            assert r.status_code == (204 if route == "resources" else 200), (route, headers, r.text)
            if route != "resources":
                assert r.json()["accepted"] == 1 and r.json()["rejected"] == [], (route, r.text)
    after = httpx.get(f"{server.url}/v1/models/m/status", headers=read).json()
    assert after["events_total"] - before["events_total"] == 2
    assert after["labels_total"] - before["labels_total"] == 2
    assert after["outcomes_total"] - before["outcomes_total"] == 2
    metrics = httpx.get(f"{server.url}/metrics", headers=read).text
    assert 'argus_host_resource{host="host-0",model="m",resource="cpu_ratio"} 0.25' in metrics
    assert 'argus_host_resource{host="host-1",model="m",resource="cpu_ratio"} 1.25' in metrics


@pytest.mark.parametrize("route", ["events", "labels", "outcomes", "resources"])
def test_a_real_form_body_or_another_type_is_415_naming_the_accepted_types(served: tuple[Server, dict[str, str]],
                                                                          route: str) -> None:
    server, tokens = served
    url, write = f"{server.url}/v1/models/m/{route}", bearer(tokens["ingest"])
    accepted = ("application/json" if route == "resources" else
                "application/json (a list of objects) or application/x-ndjson (one object per line)")
    r = httpx.post(url, content=b"id=1&label=0", headers={**write, **FORM})
    assert r.status_code == 415, r.text
    assert r.json()["detail"] == (f"content type 'application/x-www-form-urlencoded' with a body that is not JSON: "
                                  f"send {accepted} (with curl: -H 'Content-Type: application/json')")
    r = httpx.post(url, content=b'[{"id": "1"}]', headers={**write, "content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["detail"] == f"content type 'text/plain': send {accepted}", r.text


# -- /docs and the OpenAPI document --------------------------------------------------------------------------
def test_docs_load_only_local_assets_without_a_token(served: tuple[Server, dict[str, str]]) -> None:
    """Auth is on; /docs, what it loads and /openapi.json hold no data and answer without a token. Nothing
    comes from elsewhere: every URL in the page is a path on this server, and each one answers."""
    server, _ = served
    r = httpx.get(f"{server.url}/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    assert re.findall(r"(?:https?:)?//", r.text) == []
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?'([^']+)'""", r.text)
    urls = [a or b for a, b in urls]
    assert sorted(urls) == ["/docs/assets/favicon-32x32.png", "/docs/assets/swagger-ui-bundle.js",
                            "/docs/assets/swagger-ui.css", "/openapi.json"]
    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}
    for url in urls:
        asset = httpx.get(server.url + url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
        assert asset.headers["content-type"].startswith(types[url[url.rindex("."):]]), (url, asset.headers)
    assert "SwaggerUIBundle" in httpx.get(server.url + "/docs/assets/swagger-ui-bundle.js").text
    # the documentation is public, the data is not
    assert httpx.get(f"{server.url}/docs/assets/nope.js").status_code == 404
    assert httpx.get(f"{server.url}/v1/models").status_code == 401


def test_openapi_declares_the_bearer_scheme_and_the_get_answers(served: tuple[Server, dict[str, str]]) -> None:
    server, _ = served
    doc = httpx.get(f"{server.url}/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert doc["security"] == [{"bearer": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []  # liveness needs no token
    assert "/docs" not in doc["paths"] and not any(p.startswith("/docs/") for p in doc["paths"])
    for path, name in GET_ANSWERS.items():
        answer = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{name}"}, path
    windows = doc["components"]["schemas"]["WindowList"]["properties"]["windows"]
    assert windows["items"] == {"$ref": "#/components/schemas/WindowOut"}
    window = doc["components"]["schemas"]["WindowOut"]
    assert set(window["required"]) == {"version", "segment", "granularity", "closed", "n_rows", "late", "verdict",
                                       "start", "end", "closed_at"}
    assert window["properties"]["closed_at"]["anyOf"] == [{"type": "string"}, {"type": "null"}]


@pytest.mark.slow
@needs_browser
def test_docs_page_renders_in_a_browser_and_sends_the_token(served: tuple[Server, dict[str, str]]) -> None:
    """Swagger UI itself, in headless Chromium with auth on: it renders every operation of the document
    (Swagger UI 4 would refuse OpenAPI 3.1), shows Authorize, loads nothing from elsewhere, and a request
    made from the page with the token authorised gets the data."""
    from selenium.webdriver.common.by import By

    server, tokens = served
    n_operations = sum(len(item) for item in httpx.get(f"{server.url}/openapi.json").json()["paths"].values())
    drv = headless_chromium()
    try:
        drv.get(f"{server.url}/docs")
        deadline = time.monotonic() + 30
        while len(drv.find_elements(By.CSS_SELECTOR, ".opblock")) < n_operations and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(drv.find_elements(By.CSS_SELECTOR, ".opblock")) == n_operations
        assert drv.find_element(By.CSS_SELECTOR, "button.authorize").text == "Authorize"
        loaded = drv.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(u.startswith(server.url + "/") for u in loaded), loaded
        assert [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"] == []
        # authorise as a person would (the dialog), then a request from the page carries the token
        drv.find_element(By.CSS_SELECTOR, "button.authorize").click()
        drv.find_element(By.CSS_SELECTOR, ".auth-container input").send_keys(tokens["dashboard"])
        drv.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper button.authorize").click()
        drv.find_element(By.CSS_SELECTOR, ".btn-done").click()
        answer = drv.execute_async_script(
            "const done = arguments[0];"
            "ui.fn.execute({spec: ui.specSelectors.specJson().toJS(), pathName: '/v1/models', method: 'get',"
            " operation: ui.specSelectors.specJson().getIn(['paths', '/v1/models', 'get']).toJS(),"
            " securities: {authorized: ui.authSelectors.authorized().toJS()}})"
            ".then(r => done([r.status, r.body]), e => done([e.status || 0, String(e)]));")
        assert answer[0] == 200 and [m["model"] for m in answer[1]["models"]] == ["m"], answer
    finally:
        drv.quit()


# -- the documented answers are the real ones ----------------------------------------------------------------
def test_every_get_answer_matches_its_documented_schema(tmp_path: Any) -> None:
    """Two versions an hour long, v2 drifting in its second half, labels and outcomes; windows closed, a
    performance pass run. Each GET answer (full, not empty) validates against the schema /openapi.json gives
    it, resolved in that same document."""
    clock = Clock(T0 - 3600)
    running = start_monitor(tmp_path / "data", (ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"],
                                                            performance={"min_labels": 50}), make_reference(4000)),
                            clock=clock, settings=Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600))
    mon, store = running.monitor, running.store
    try:
        with LiveServer(mon) as srv:
            rng = np.random.default_rng(3)
            events, labels = [], []
            for i in range(3000):
                version = "v1" if i % 2 else "v2"
                e = event(f"r{i}", rng, shift=1.0 if version == "v2" and i > 1500 else 0.0, timestamp=T0 - 3600 + i,
                          version=version, latency_ms=10.0 + i % 7, status=200)
                events.append(e)
                labels.append({"id": e["id"], "label": int(rng.random() < e["prediction"])})
            for k in range(0, len(events), 300):
                assert httpx.post(f"{srv.url}/v1/models/m/events", json=events[k:k + 300]).status_code == 200
                clock.advance(300)
            assert httpx.post(f"{srv.url}/v1/models/m/labels", json=labels[:2500]).status_code == 200
            assert httpx.post(f"{srv.url}/v1/models/m/outcomes", json=[{"id": "r1", "name": "revenue", "value": 2.5}]
                              ).status_code == 200
            clock.advance(600)
            assert mon.wait_idle()
            mon.update_performance(force=True)
            assert httpx.post(f"{srv.url}/v1/models/m/events", json=[event("open", rng, timestamp=clock() - 10)]
                              ).status_code == 200  # an open window too
            assert mon.wait_idle()

            doc = httpx.get(f"{srv.url}/openapi.json").json()
            queries = {
                "/v1/models": {}, "/v1/models/{model}": {}, "/v1/models/{model}/status": {},
                "/v1/models/{model}/findings": {"limit": 1000}, "/v1/models/{model}/windows": {"limit": 1000},
                "/v1/models/{model}/performance": {"limit": 1000},
                "/v1/models/{model}/compare": {"champion": "v1", "challenger": "v2"},
                "/v1/models/{model}/advice": {},
            }
            answers = {}
            for path, params in queries.items():
                r = httpx.get(srv.url + path.replace("{model}", "m"), params=params, timeout=60)
                assert r.status_code == 200, (path, r.text)
                schema = {"$ref": f"#/components/schemas/{GET_ANSWERS[path]}", "components": doc["components"]}
                jsonschema.Draft202012Validator(schema).validate(r.json())
                answers[path] = r.json()
    finally:
        mon.stop()
        store.close()
    # full answers, so that every nested shape was checked
    status = answers["/v1/models/{model}/status"]
    assert status["open_findings"] and status["latest_windows"] and status["performance"]
    findings = answers["/v1/models/{model}/findings"]["findings"]
    assert findings and "drift" in {f["check"] for f in findings}
    windows = answers["/v1/models/{model}/windows"]["windows"]
    assert any(w["closed"] and w["verdict"] for w in windows) and any(not w["closed"] for w in windows)
    perf = answers["/v1/models/{model}/performance"]["performance"]
    assert any(p["metrics"] for p in perf) and any(p["estimated"] for p in perf)
    compare = answers["/v1/models/{model}/compare"]
    assert compare["labels"]["champion"] > 0 and compare["operational"]["latency_p95"] is not None
    assert set(answers["/v1/models/{model}/advice"]["versions"]) >= {"v1", "v2"}
