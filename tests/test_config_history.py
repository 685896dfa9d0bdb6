"""Config versions in the store: recorded once per change (across restarts), with who, when, where and
what each changed in what alerts; read over HTTP and with `argus config history`."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from argusml.cli.main import app
from argusml.schema.model_config import AuthConfig, ModelConfig, TokenEntry
from argusml.service.auth import Authenticator, digest
from argusml.store import Store
from service_util import T0, free_port

pytestmark = pytest.mark.service


def test_record_config_only_when_it_changes_and_history_diffs_each_version(tmp_path: Path):
    store = Store(tmp_path / "data")
    try:
        v1 = ModelConfig(model="m", alerts={"webhook": "https://h.example.com/?k=1"})
        v2 = ModelConfig(model="m", alerts={"webhook": "https://h.example.com/?k=1", "for_windows": 1})
        assert store.record_config("m", v1.model_dump_json(), "ann", "/cfg/m.yaml", T0) == 1
        # the same config, keys in another order: the same canonical JSON, nothing recorded
        reordered = json.dumps(dict(reversed(list(json.loads(v1.model_dump_json()).items()))))
        assert store.record_config("m", reordered, "bob", "http", T0 + 1) is None
        assert store.record_config("m", v2.model_dump_json(), "bob", "http", T0 + 2) == 2
        assert store.record_config("other", v1.model_dump_json(), "cy", "http", T0 + 3) == 1
        assert store.record_config("m", v1.model_dump_json(), "ann", "/cfg/m.yaml", T0 + 4) == 3  # back again
        history = store.config_history("m")
        assert [(h["version"], h["author"], h["source"], h["recorded_at"]) for h in history] == [
            (3, "ann", "/cfg/m.yaml", T0 + 4), (2, "bob", "http", T0 + 2), (1, "ann", "/cfg/m.yaml", T0)]
        assert history[0]["sha256"] == history[2]["sha256"] != history[1]["sha256"]
        assert history[1]["changes"] == [{"what": "threshold", "key": "alerts.for_windows", "old": 3, "new": 1,
                                          "effect": "fires sooner"}]
        assert history[0]["changes"] == [{"what": "threshold", "key": "alerts.for_windows", "old": 1, "new": 3,
                                          "effect": "fires later"}]
        assert history[2]["changes"] is None and history[2]["config"]["alerts"]["for_windows"] == 3
        limited = store.config_history("m", limit=1)
        assert [h["version"] for h in limited] == [3] and limited[0]["changes"] == history[0]["changes"]
    finally:
        store.close()


def test_serve_records_a_yaml_once_across_restarts_with_its_author_and_path(tmp_path: Path, ref, monkeypatch):
    from argusml.service.server import build

    cfg = tmp_path / "models"
    (cfg / "templates").mkdir(parents=True)
    ref.save(cfg / "base.json")
    (cfg / "templates" / "team.yaml").write_text("alerts:\n  webhook: https://h.example.com/\n")
    (cfg / "m.yaml").write_text("model: m\nextends: team\nreference: base.json\n")
    monkeypatch.setenv("ARGUS_CONFIG_AUTHOR", "deploy-bot")

    def start_and_stop() -> list[dict]:
        monitor, _, _ = build(str(cfg), str(tmp_path / "data"))
        try:
            return monitor.store.config_history("m")
        finally:
            monitor.stop()
            monitor.store.close()

    first = start_and_stop()
    assert [(h["version"], h["author"], h["source"]) for h in first] == [(1, "deploy-bot", str(cfg / "m.yaml"))]
    assert first[0]["config"]["alerts"]["webhook"] == "https://h.example.com/"  # the template applied
    assert start_and_stop() == first  # a restart on the same YAML records nothing
    (cfg / "templates" / "team.yaml").write_text("alerts:\n  webhook: https://h.example.com/\n  for_windows: 2\n")
    monkeypatch.delenv("ARGUS_CONFIG_AUTHOR")
    after = start_and_stop()
    assert [(h["version"], h["author"]) for h in after] == [(2, getpass.getuser()), (1, "deploy-bot")]
    assert after[0]["changes"] == [{"what": "threshold", "key": "alerts.for_windows", "old": 3, "new": 2,
                                    "effect": "fires sooner"}]


def test_history_over_http_names_the_token_and_the_cli_prints_it(tmp_path: Path, ref, running_monitor):
    token = "argus_test-token"
    auth = Authenticator(AuthConfig(tokens=[TokenEntry(name="ci-bot", sha256=digest(token),
                                                       scopes=["read", "write"])]))
    run = running_monitor(auth=auth)
    client = run.client
    headers = {"authorization": f"Bearer {token}"}
    for window in ("5m", "15m", "15m"):  # the third PUT changes nothing: no version
        r = client.put("/v1/models/m", json={"config": {"window": window}, "baseline": ref.to_dict()},
                       headers=headers)
        assert r.status_code == 200, r.text
    r = client.get("/v1/models/m/config/history", headers=headers)
    assert r.status_code == 200, r.text
    history = r.json()["history"]
    assert [(h["version"], h["author"], h["source"], h["recorded_at"]) for h in history] == [
        (2, "ci-bot", "http", "2027-01-15T08:00:00Z"), (1, "ci-bot", "http", "2027-01-15T08:00:00Z")]
    assert history[0]["changes"] == [{"what": "threshold", "key": "window", "old": 300.0, "new": 900.0,
                                      "effect": "judges over longer windows: alerts later, on more rows"}]
    doc = client.get("/openapi.json", headers=headers).json()
    answer = doc["paths"]["/v1/models/{model}/config/history"]["get"]["responses"]["200"]["content"]
    assert answer["application/json"]["schema"] == {"$ref": "#/components/schemas/ConfigHistory"}
    jsonschema.Draft202012Validator({"$ref": "#/components/schemas/ConfigHistory", "components": doc["components"]}
                                    ).validate(r.json())
    assert client.get("/v1/models/m/config/history").status_code == 401
    assert client.get("/v1/models/nope/config/history", headers=headers).status_code == 404

    srv = run.live(auth=auth)  # stopped with the monitor
    r = CliRunner().invoke(app, ["config", "history", "--url", srv.url, "--model", "m", "--token", token])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        f"version 2  2027-01-15T08:00:00Z  by ci-bot  from http  sha256 {history[0]['sha256'][:12]}",
        "  window: 5m → 15m (judges over longer windows: alerts later, on more rows)",
        f"version 1  2027-01-15T08:00:00Z  by ci-bot  from http  sha256 {history[1]['sha256'][:12]}",
        "  first recorded version"]
    r = CliRunner().invoke(app, ["config", "history", "--url", srv.url, "--model", "m", "--token", token,
                                 "--json", "--limit", "1"])
    assert r.exit_code == 0 and [h["version"] for h in json.loads(r.stdout)] == [2]
    r = CliRunner().invoke(app, ["config", "history", "--url", f"http://127.0.0.1:{free_port()}", "--model", "m"])
    assert r.exit_code == 2 and r.stderr.startswith("argus: error: cannot reach the service at http://127.0.0.1:")
