"""Sampled ground truth end to end: the real service over HTTP, `argus sample` writing CSV and JSONL for a
reviewer, `argus labels import` sending the reviewed labels back and printing the estimate, which must
equal the stratified estimate computed here by hand from the labels we simulated."""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from argusml.cli.main import app
from argusml.monitor import Settings
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from service_util import LiveServer, event, make_reference, start_monitor

pytestmark = pytest.mark.service

ARGUS = [sys.executable, "-m", "argusml.cli.main"]
RUNNER = CliRunner()
N_EVENTS = 3000
PRELABELLED = 200
NOW = time.time()


def argus(*args: str) -> SimpleNamespace:
    """The `argus` command in this process (an interpreter start per call would be most of the test's
    time); ``test_the_installed_command_runs`` runs it as a process once."""
    r = RUNNER.invoke(app, list(args), env={"ARGUS_TOKEN": None, "ARGUS_URL": None})
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return SimpleNamespace(returncode=r.exit_code, stdout=r.stdout, stderr=r.stderr)


def multiclass_reference() -> Reference:
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame({"x0": rng.normal(size=n)})
    df["y"] = rng.choice(["a", "b", "c"], n)
    df["pred"] = np.where(rng.random(n) < 0.7, df["y"], rng.choice(["a", "b", "c"], n))
    return Reference.from_frame(df, target="y", prediction="pred")


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Any:
    d = tmp_path_factory.mktemp("review")
    # an hour of predictions is sent at once, as late events: the lateness covers them
    running = start_monitor(d / "data", (ModelConfig(model="m", window="5m", lateness="2h"), make_reference(2000)),
                            (ModelConfig(model="mc", window="5m", lateness="2h"), multiclass_reference()),
                            settings=Settings(tick_every=0.05), clock=time.time)
    server = running.live()
    try:
        rng = np.random.default_rng(1)
        truth: dict[str, dict[str, Any]] = {"m": {}, "mc": {}}
        events = [event(f"e{i}", rng, timestamp=NOW - 3600 + i) for i in range(N_EVENTS)]
        for e in events:  # a calibrated binary model: the label is 1 with the score's probability
            truth["m"][e["id"]] = int(rng.random() < e["prediction"])
        r = httpx.post(server.url + "/v1/models/m/events", json=events, timeout=60)
        assert r.status_code == 200 and r.json()["accepted"] == N_EVENTS, r.text
        pre = [{"id": f"e{i}", "label": truth["m"][f"e{i}"]} for i in range(PRELABELLED)]
        assert httpx.post(server.url + "/v1/models/m/labels", json=pre).status_code == 200
        mc_events = []
        for i in range(600):
            p = rng.dirichlet([1.0, 1.0, 1.0])
            probs = {c: float(v) for c, v in zip("abc", p)}
            mc_events.append({"id": f"c{i}", "timestamp": NOW - 600 + i, "features": {"x0": float(rng.normal())},
                              "prediction": probs})
            truth["mc"][f"c{i}"] = "abc"[rng.choice(3, p=p)]
        r = httpx.post(server.url + "/v1/models/mc/events", json=mc_events, timeout=60)
        assert r.status_code == 200 and r.json()["accepted"] == 600, r.text
        yield server, truth, d
    finally:
        running.stop()


def status(server: LiveServer, model: str = "m") -> dict[str, Any]:
    return httpx.get(f"{server.url}/v1/models/{model}/status").json()


def hand_estimate(design: dict[str, Any], correct: dict[str, float]) -> tuple[float, float]:
    """Sum over strata of N_h times the mean correctness of the stratum's reviewed units, over N; and the
    standard error sqrt(sum (N_h/N)^2 (1 - m_h/N_h) s_h^2 / m_h)."""
    by: dict[int, list[float]] = {}
    for u in design["units"]:
        if u["id"] in correct:
            by.setdefault(u["stratum"], []).append(correct[u["id"]])
    big_n = sum(s["population"] for s in design["design"]["strata"])
    value = var = 0.0
    for s in design["design"]["strata"]:
        ys = np.array(by[s["stratum"]])
        value += s["population"] * ys.mean() / big_n
        var += (s["population"] / big_n) ** 2 * (1 - ys.size / s["population"]) * ys.var(ddof=1) / ys.size
    return value, math.sqrt(var)


def test_sample_csv_review_import_and_estimate(service) -> None:
    server, truth, d = service
    out = d / "review.csv"
    until = str(NOW - 3600 + 1500)  # the first 1,500 events (the next test samples the others)
    p = argus("sample", "--url", server.url, "--model", "m", "--size", "120", "--seed", "5", "--until", until,
              "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert "120 of 1,300 predictions to review" in p.stdout
    with out.open() as f:
        rows = list(csv.DictReader(f))
    design = json.loads(Path(str(out) + ".design.json").read_text())
    assert len(rows) == 120 and list(rows[0]) == ["id", "version", "timestamp", "segment", "prediction", "predicted",
                                                  "uncertainty", "stratum", "inclusion_probability", "label"]
    assert all(r["label"] == "" for r in rows)
    # the population is the window's predictions without a label: the 200 labelled ones are left out
    assert not {r["id"] for r in rows} & {f"e{i}" for i in range(PRELABELLED)}
    strata = design["design"]["strata"]
    assert design["population"] == sum(s["population"] for s in strata) == 1500 - PRELABELLED
    for s in strata:
        mine = [r for r in rows if int(r["stratum"]) == s["stratum"]]
        assert len(mine) == s["sampled"] >= 2
        assert {float(r["inclusion_probability"]) for r in mine} == {s["sampled"] / s["population"]}
    # strata run from the most certain to the least, and uncertain ones are reviewed more densely
    for a, b in itertools.pairwise(strata):
        assert a["uncertainty_high"] <= b["uncertainty_low"]
    assert strata[-1]["inclusion_probability"] > 1.5 * strata[0]["inclusion_probability"]
    for r in rows:
        assert r["predicted"] == ("1" if float(r["prediction"]) >= 0.5 else "0")
    # the same seed, the same sample
    again = httpx.get(server.url + "/v1/models/m/sample", params={"size": 120, "seed": 5, "until": until}).json()
    assert [r["id"] for r in again["rows"]] == [r["id"] for r in rows]

    # the reviewer labels all but 12 rows; the labels are the ones the simulation drew
    skipped = {r["id"] for r in rows[::10]}
    for r in rows:
        r["label"] = "" if r["id"] in skipped else str(truth["m"][r["id"]])
    reviewed = d / "reviewed.csv"
    with reviewed.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    before = status(server)["labels_total"]
    p = argus("labels", "import", str(reviewed), "--url", server.url, "--model", "m", "--design",
              str(out) + ".design.json")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert "sent 108 labels of model 'm' (108 joined, 0 pending" in p.stdout and "12 rows not reviewed" in p.stdout
    st = status(server)
    assert st["labels_total"] == before + 108 and st["labels_joined"] >= PRELABELLED + 108

    correct = {r["id"]: float((truth["m"][r["id"]] == 1) == (float(r["prediction"]) >= 0.5))
               for r in rows if r["id"] not in skipped}
    value, se = hand_estimate(design, correct)
    assert f"accuracy: {value:.4f} (95% interval " in p.stdout
    assert "estimated for 1,300 predictions from 108 of 120 reviewed (response 90.0%" in p.stdout
    # the same labels again: duplicates for the service, the same estimate, exactly, as JSON
    p = argus("labels", "import", str(reviewed), "--url", server.url, "--design", str(out) + ".design.json",
              "--json")
    assert p.returncode == 0, p.stderr
    est = json.loads(p.stdout)
    assert "108 duplicates" in p.stderr
    assert est["metric"] == "accuracy" and est["value"] == pytest.approx(value, abs=1e-12)
    assert est["se"] == pytest.approx(se, abs=1e-12)
    assert est["low"] < value < est["high"] and est["responded"] == 108 and est["sampled"] == 120
    n_eff = value * (1 - value) / se**2
    z = 1.959963984540054
    center = (value + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z * math.sqrt(value * (1 - value) / n_eff + z * z / (4 * n_eff**2)) / (1 + z * z / n_eff)
    assert (est["low"], est["high"]) == (pytest.approx(center - half, abs=1e-12),
                                         pytest.approx(center + half, abs=1e-12))


def test_jsonl_with_bad_rows_sends_the_good_ones_and_exits_1(service) -> None:
    server, truth, d = service
    out = d / "review.jsonl"
    p = argus("sample", "--url", server.url, "--model", "m", "--size", "40", "--seed", "11", "--since",
              str(NOW - 3600 + 1500), "-o", str(out))
    assert p.returncode == 0, p.stderr
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(docs) == 40 and all(doc["label"] is None for doc in docs)
    assert all(int(doc["id"][1:]) >= 1500 for doc in docs)  # --since: predictions of the window only
    design = json.loads(Path(str(out) + ".design.json").read_text())
    assert design["population"] == N_EVENTS - 1500  # none of them labelled yet
    lines = []
    for k, doc in enumerate(docs):
        if k == 3:
            lines.append("{not json")
        elif k == 5:
            lines.append(json.dumps({**doc, "label": "maybe"}))  # the target is numeric
        elif k == 7:
            lines.append(json.dumps({**doc, "id": "", "label": 1}))
        else:
            lines.append(json.dumps({**doc, "label": truth["m"][doc["id"]]}))
    reviewed = d / "reviewed.jsonl"
    reviewed.write_text("\n".join(lines) + "\n")
    before = status(server)["labels_total"]
    p = argus("labels", "import", str(reviewed), "--url", server.url, "--design", str(out) + ".design.json")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "reviewed.jsonl:4: not valid JSON" in p.stderr
    assert "reviewed.jsonl:6: label 'maybe' is not a number (the target is numeric)" in p.stderr
    assert "reviewed.jsonl:8: no 'id'" in p.stderr
    assert "Traceback" not in p.stderr
    assert "sent 37 labels" in p.stdout and "3 bad rows" in p.stdout
    assert status(server)["labels_total"] == before + 37
    bad_ids = {docs[3]["id"], docs[5]["id"], docs[7]["id"]}
    correct = {doc["id"]: float((truth["m"][doc["id"]] == 1) == (doc["prediction"] >= 0.5))
               for doc in docs if doc["id"] not in bad_ids}
    value, _ = hand_estimate(design, correct)
    assert f"accuracy: {value:.4f} (95% interval" in p.stdout and "from 37 of 40 reviewed" in p.stdout


def test_multiclass_accuracy_is_label_equals_predicted_class(service) -> None:
    server, truth, d = service
    out = d / "mc.csv"
    p = argus("sample", "--url", server.url, "--model", "mc", "--size", "60", "--strata", "3", "-o", str(out))
    assert p.returncode == 0, p.stderr
    with out.open() as f:
        rows = list(csv.DictReader(f))
    design = json.loads(Path(str(out) + ".design.json").read_text())
    assert design["scoring"]["unversioned"]["task"] == "multiclass" and len(design["design"]["strata"]) == 3
    for r in rows:  # the predicted class is the most probable, its uncertainty one minus its probability
        assert r["predicted"] in "abc" and float(r["uncertainty"]) == pytest.approx(1 - float(r["prediction"]))
        r["label"] = truth["mc"][r["id"]]
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    p = argus("labels", "import", str(out), "--url", server.url, "--json")
    assert p.returncode == 0, p.stderr
    est = json.loads(p.stdout)
    value, se = hand_estimate(design, {r["id"]: float(r["label"] == r["predicted"]) for r in rows})
    assert est["value"] == pytest.approx(value, abs=1e-12) and est["se"] == pytest.approx(se, abs=1e-12)


def test_sample_endpoint_validation(service) -> None:
    server, _, _ = service
    url = server.url + "/v1/models/m/sample"
    for params, field, needle in (({"size": 0}, "query.size", "greater than or equal to 1"),
                                  ({"since": NOW, "until": NOW - 60}, "query.since", "since must be before until"),
                                  ({"version": "v9"}, "query.version", "unknown version 'v9'"),
                                  ({"random_share": 1.5}, "query.random_share", "less than or equal to 1"),
                                  ({"until": "yesterday"}, "query.until", "neither RFC 3339 nor epoch seconds")):
        r = httpx.get(url, params=params)
        assert r.status_code == 422, (params, r.text)
        detail = r.json()["detail"]
        assert detail[0]["field"] == field and needle in detail[0]["error"], detail
    r = httpx.get(server.url + "/v1/models/nope/sample")
    assert r.status_code == 404 and r.json()["error"] == "unknown_model"
    # an empty window: no rows, the population 0
    body = httpx.get(url, params={"until": NOW - 7200}).json()
    assert body["population"] == 0 and body["rows"] == []


def test_unusable_input_exits_2_with_one_line(service, tmp_path) -> None:
    server, _, _ = service
    p = argus("sample", "--url", server.url, "--model", "nope", "-o", str(tmp_path / "x.csv"))
    assert p.returncode == 2 and "unknown model 'nope'" in p.stderr and "Traceback" not in p.stderr
    p = argus("sample", "--url", "http://127.0.0.1:9", "--model", "m", "-o", str(tmp_path / "x.csv"))
    assert p.returncode == 2 and "cannot reach the service at http://127.0.0.1:9" in p.stderr
    p = argus("sample", "--url", server.url, "--model", "m", "--size", "0", "-o", str(tmp_path / "x.csv"))
    assert p.returncode == 2 and "query.size" in p.stderr
    p = argus("sample", "--url", server.url, "--model", "m", "--until", str(NOW - 7200), "-o", str(tmp_path / "x.csv"))
    assert p.returncode == 2 and "nothing to review" in p.stderr
    nolabel = tmp_path / "nolabel.csv"
    nolabel.write_text("id,verdict\ne1,1\n")
    p = argus("labels", "import", str(nolabel), "--url", server.url, "--model", "m", "--no-estimate")
    assert p.returncode == 2 and "missing column 'label' (--label-column); columns: id, verdict" in p.stderr
    p = argus("labels", "import", str(nolabel), "--url", server.url, "--model", "m")
    assert p.returncode == 2 and "nolabel.csv.design.json: design file not found" in p.stderr
    fresh = event("fresh", np.random.default_rng(0), timestamp=NOW - 10)
    assert httpx.post(server.url + "/v1/models/m/events", json=[fresh]).status_code == 200
    ok = tmp_path / "ok.csv"
    ok.write_text("id,label\nfresh,1\n")
    p = argus("labels", "import", str(ok), "--url", server.url, "--model", "nope", "--no-estimate")
    assert p.returncode == 2 and "unknown model 'nope'" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    before = status(server)["labels_total"]
    p = argus("labels", "import", str(ok), "--url", server.url, "--model", "m", "--no-estimate")
    assert p.returncode == 0 and "sent 1 labels" in p.stdout
    assert status(server)["labels_total"] == before + 1


def test_malformed_csv_rows_are_reported_and_the_rest_sent(service, tmp_path) -> None:
    server, _, _ = service
    rng = np.random.default_rng(5)
    fresh = [event(f"csv{i}", rng, timestamp=NOW - 5) for i in range(2)]
    assert httpx.post(server.url + "/v1/models/m/events", json=fresh).status_code == 200
    f = tmp_path / "mixed.csv"
    f.write_text("id,label\ncsv0,1\ncsv1,0,extra\n,1\ncsv1,\ncsv0,0\n")
    before = status(server)["labels_total"]
    p = argus("labels", "import", str(f), "--url", server.url, "--model", "m", "--no-estimate")
    assert p.returncode == 1
    assert p.stderr.splitlines() == [f"{f}:3: 3 fields, the header has 2", f"{f}:4: no 'id'",
                                     f"{f}:6: id 'csv0' again (first on line 2); keep one label per prediction"]
    assert "sent 1 labels" in p.stdout and "1 rows not reviewed; 3 bad rows" in p.stdout
    assert status(server)["labels_total"] == before + 1


def test_help_has_examples() -> None:
    for cmd in (["sample"], ["labels", "import"]):
        p = argus(*cmd, "--help")
        assert p.returncode == 0 and "Example:" in p.stdout


@pytest.mark.slow
def test_the_installed_command_runs(service, tmp_path) -> None:
    server, _, _ = service
    env = {**os.environ, "ARGUS_URL": server.url}
    env.pop("ARGUS_TOKEN", None)
    p = subprocess.run([*ARGUS, "sample", "--model", "mc", "--size", "5", "-o", str(tmp_path / "s.jsonl")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 5
