"""The dashboard as the service serves it: the pages and assets answer without a token while the data does
not, every asset the shell and its modules reference is shipped with its content type, nothing is loaded from
outside, the scripts parse, and the package ships every file. (The pages in a real browser: test_dashboard_browser.)"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from argusml.schema.model_config import AuthConfig, TokenEntry
from argusml.service.auth import Authenticator, digest
from argusml.service.routers.pages import CONTENT_TYPES, DASHBOARD_DIR
from service_util import Running, make_reference, start_monitor

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "argus_dashboard-test-token"
PAGES = ["/", "/?view=sre&team=risk&sort=-health&page=2", "/models/credit", "/models/credit?view=exec&version=v2",
         "/models/credit/features/income?segment=channel%3Dweb", "/incidents/inc-0123456789ab"]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    from argusml.schema.model_config import ModelConfig

    auth = Authenticator(AuthConfig(tokens=[TokenEntry(name="reader", sha256=digest(TOKEN), scopes=["read"])]))
    r = start_monitor(tmp_path_factory.mktemp("dash") / "data", (ModelConfig(model="credit"), make_reference()),
                      auth=auth, start=False)
    yield r
    r.stop()


@pytest.fixture(scope="module")
def client(running: Running) -> TestClient:
    return running.client


def shell_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/ui/assets/[^"]+)"', html)


def module_imports(js: str) -> list[str]:
    return re.findall(r'^import [^;]*? from "\./([^"]+)";', js, flags=re.M)


def test_pages_answer_the_shell_without_a_token_while_the_api_asks_for_one(client: TestClient) -> None:
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    bodies = set()
    for page in PAGES:
        r = client.get(page)
        assert r.status_code == 200, (page, r.text[:200])
        assert r.headers["content-type"] == "text/html; charset=utf-8", page
        assert r.headers["cache-control"] == "no-cache" and r.headers["etag"], page
        # scripts and calls from this service only: injected markup could run nothing
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "default-src 'none'" in csp
        bodies.add(r.text)
    assert len(bodies) == 1  # one shell: the scripts read the page from the URL
    html = bodies.pop()
    assert '<html lang="en">' in html and 'href="#main"' in html and 'id="main"' in html
    for hook in ('id="views"', 'id="error"', 'data-ready="false"', 'id="token-form"'):
        assert hook in html, hook


def test_every_asset_the_shell_and_its_modules_load_is_served_with_its_type(client: TestClient) -> None:
    html = client.get("/").text
    wanted = shell_assets(html)
    assert "/ui/assets/app.js" in wanted and "/ui/assets/vendor/uplot/uPlot.iife.min.js" in wanted
    seen: set[str] = set()
    while wanted:
        url = wanted.pop()
        if url in seen:
            continue
        seen.add(url)
        r = client.get(url)
        assert r.status_code == 200, url
        suffix = Path(url).suffix
        assert r.headers["content-type"] == CONTENT_TYPES[suffix], url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.content == (DASHBOARD_DIR / url.removeprefix("/ui/assets/")).read_bytes()
        if suffix == ".js":
            wanted.extend(f"/ui/assets/{name}" for name in module_imports(r.text))
    scripts = {p.name for p in DASHBOARD_DIR.glob("*.js")}
    assert scripts <= {Path(u).name for u in seen}, "a module nothing imports is dead code"
    icon = client.get("/favicon.ico")  # what a browser asks for on any page, the JSON ones too
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    # an unchanged file is revalidated, not sent again
    r = client.get("/ui/assets/app.js")
    again = client.get("/ui/assets/app.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("path", ["/ui/assets/../routers/pages.py", "/ui/assets/%2e%2e/%2e%2e/app.py",
                                  "/ui/assets/..%2F..%2Fapp.py", "/ui/assets/index.html", "/ui/assets/nope.js",
                                  "/ui/assets/vendor", "/ui/assets/", "/models", "/models/a/b",
                                  "/incidents/a/b"])
def test_nothing_else_is_served(client: TestClient, path: str) -> None:
    r = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404, (path, r.status_code, r.text[:200])


def test_the_pages_are_not_api_operations(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith(("/ui/", "/models/", "/incidents/"))]


LICENCE_FILES = {"LICENSE", "VERSION"}
NAMESPACES = {"http://www.w3.org/2000/svg"}


def outside_urls(path: Path) -> list[str]:
    """http(s) URLs in a shipped file other than in licence text (LICENSE, VERSION, /*! ... */ banners) and XML
    namespace names (identifiers the browser never fetches)."""
    if path.name in LICENCE_FILES:
        return []
    text = re.sub(r"/\*!.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [u for u in re.findall(r"https?://[^\s\"'`)<>]+", text) if u not in NAMESPACES]


def test_nothing_is_loaded_from_outside(tmp_path: Path) -> None:
    files = [p for p in DASHBOARD_DIR.rglob("*") if p.is_file()]
    assert len(files) >= 10
    assert {p: outside_urls(p) for p in files if outside_urls(p)} == {}
    planted = tmp_path / "x.js"
    planted.write_text('/*! https://example.com/lib (MIT) */\nimport("https://cdn.example.com/x.js");\n')
    assert outside_urls(planted) == ["https://cdn.example.com/x.js"]  # the check finds what it must


def test_the_scripts_build_the_page_from_text_never_from_markup() -> None:
    for path in DASHBOARD_DIR.glob("*.js"):
        src = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in src, f"{path.name} uses {sink}: build elements with dom.js h() and text nodes"


def test_the_scripts_parse(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the scripts' syntax is checked where it is")
    for path in DASHBOARD_DIR.rglob("*.js"):
        # as ES modules (the shell loads them with type="module"); the vendored library is a classic script
        copy = tmp_path / (path.stem + (".cjs" if "vendor" in path.parts else ".mjs"))
        copy.write_bytes(path.read_bytes())
        done = subprocess.run([node, "--check", str(copy)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{path.relative_to(DASHBOARD_DIR)}: {done.stderr}"


def test_the_hooks_the_browser_tests_use_are_in_the_scripts() -> None:
    src = "\n".join(p.read_text(encoding="utf-8") for p in DASHBOARD_DIR.glob("*.js"))
    for hook in ('id: "models"', '"filter-q"', '"filter-team"', '"filter-owner"', '"filter-health"', "dataset: {sort:",
                 '"page-next"', '"page-prev"', "dataset: {view:", '"aria-current"', 'id: "features"', 'id: "version"',
                 'id: "segment"', 'id: "incidents"', '"distribution"', 'id: "incident"', '"timeline"', '"causes"',
                 "dataset: {runbook:", 'dataset: {action: "ack"}', 'dataset: {action: "resolve"}',
                 "dataset: {model: m.model, health:", "dataset: {feature: f.name, drifted:", "ready = \"true\"",
                 "ready = \"error\"", '"figcaption"', '"details"'):
        assert hook in src, hook


def test_the_package_ships_every_dashboard_file() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["argusml"]
    package = ROOT / "src" / "argusml"
    for path in DASHBOARD_DIR.rglob("*"):
        if path.is_file():
            rel = path.relative_to(package).as_posix()
            assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), rel
