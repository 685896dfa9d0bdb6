"""Champion against challenger in the service and the CLI: events and labels posted to the real app over a
real DuckDB store, the comparison read back from ``GET /v1/models/{model}/compare`` and held to scikit-learn,
scipy and the sample-size formula on the same rows. `argus compare` against `argus serve` in a child process
is in tests/test_cli_compare.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from argusml.monitor import Monitor, Settings
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from service_util import T0, event, reference_frame, start_monitor

pytestmark = pytest.mark.service

N = 1500


def _score(y: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A probability of the positive class; ``strength`` is how far apart the classes' logits are."""
    return 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.normal(size=y.size))))


def _traffic(rng: np.random.Generator, n: int, *, weak: float = 0.6, strong: float = 2.0, shadow: bool = True
             ) -> tuple[list[dict], list[dict], dict[str, np.ndarray]]:
    """Events of v1 (weak) and v2 (strong) and unversioned labels. Shadow: both versions score every id
    (one label scores both); split: each id goes to one version."""
    y = (rng.random(n) < 0.4).astype(int)
    s1, s2 = _score(y, weak, rng), _score(y, strong, rng)
    to_v2 = np.ones(n, dtype=bool) if shadow else rng.random(n) < 0.3
    events, labels = [], []
    for i in range(n):
        base = event(f"r{i}", rng, timestamp=T0 - 3600 + i)
        if shadow or not to_v2[i]:
            events.append({**base, "version": "v1", "prediction": float(s1[i]),
                           "latency_ms": float(rng.lognormal(3, 0.3)), "status": 200})
        if shadow or to_v2[i]:
            events.append({**base, "version": "v2", "prediction": float(s2[i]),
                           "latency_ms": float(rng.lognormal(3, 0.3)), "status": 200})
        labels.append({"id": f"r{i}", "label": int(y[i])})
    return events, labels, {"y": y, "s1": s1, "s2": s2, "to_v2": to_v2}


PERF = Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600)


def _start(tmp_path, ref: Reference) -> tuple[Monitor, TestClient]:
    # an hour of traffic is sent at once, as late events: the lateness covers it (older ones are rejected)
    running = start_monitor(tmp_path / "data", (ModelConfig(model="m", window="5m", lateness="2h"), ref),
                            (ModelConfig(model="acc", window="5m", lateness="2h", compare={"metric": "accuracy"}), ref),
                            settings=PERF)
    return running.monitor, running.client


def _post(client: TestClient, model: str, path: str, items: list[dict]) -> None:
    for k in range(0, len(items), 2000):
        r = client.post(f"/v1/models/{model}/{path}", json=items[k:k + 2000])
        assert r.status_code in (200, 202), r.text


def _compare(client: TestClient, model: str, champion: str, challenger: str, **params: str) -> dict:
    r = client.get(f"/v1/models/{model}/compare", params={"champion": champion, "challenger": challenger, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_shadow_traffic_promotes_a_better_challenger_and_rolls_back_a_worse_one(tmp_path, ref) -> None:
    mon, client = _start(tmp_path, ref)
    try:
        rng = np.random.default_rng(1)
        events, labels, t = _traffic(rng, N)
        _post(client, "m", "events", events)
        _post(client, "m", "labels", labels)
        assert mon.wait_idle()
        out = _compare(client, "m", "v1", "v2")
        assert (out["task"], out["metric"], out["mode"], out["analysis"], out["matched"]) == \
            ("binary", "roc_auc", "paired", "paired", N)
        y, s1, s2 = t["y"], t["s1"], t["s2"]
        auc = out["differences"]["roc_auc"]
        assert auc["interval"] == "delong_paired" and auc["paired"] is True
        assert auc["champion"] == pytest.approx(roc_auc_score(y, s1), abs=1e-12)
        assert auc["challenger"] == pytest.approx(roc_auc_score(y, s2), abs=1e-12)
        assert out["versions"]["v1"]["metrics"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, s1), abs=1e-12)
        # the paired test on correct / wrong at the threshold: McNemar, exact = the binomial test
        c1, c2 = (s1 >= 0.5) == (y == 1), (s2 >= 0.5) == (y == 1)
        b, c = int((c1 & ~c2).sum()), int((~c1 & c2).sum())
        pt = out["paired_test"]
        assert (pt["test"], pt["champion_right_challenger_wrong"], pt["champion_wrong_challenger_right"]) == \
            ("mcnemar", b, c)
        assert pt["p_exact"] == pytest.approx(sps.binomtest(min(b, c), b + c).pvalue, rel=1e-9)
        v = out["verdict"]
        assert v["decision"] == "promote" and v["reasons"][0].startswith("the challenger is better: ROC AUC")
        assert out["operational"]["error_rate"]["difference"] == 0.0
        assert out["operational"]["latency_p95"]["champion"] == pytest.approx(
            np.quantile([e["latency_ms"] for e in events if e["version"] == "v1"], 0.95), abs=1e-9)
        assert any("p95 latency" in r and "within the allowed x1.2" in r for r in v["reasons"])

        back = _compare(client, "m", "v2", "v1")  # the strong model serving, the weak one as challenger
        assert back["verdict"]["decision"] == "rollback"
        assert back["verdict"]["reasons"][0].startswith("the challenger is worse: ROC AUC")
        assert back["differences"]["roc_auc"]["difference"] == pytest.approx(-auc["difference"], abs=1e-12)

        # a period before any prediction: nothing to compare, so wait
        early = _compare(client, "m", "v1", "v2", until=str(T0 - 7200))
        assert early["verdict"]["decision"] == "wait" and early["labels"] == {"champion": 0, "challenger": 0, "matched": 0}

        # error paths name the problem
        r = client.get("/v1/models/m/compare", params={"champion": "v1", "challenger": "v9"})
        assert r.status_code == 422 and r.json()["error"] == "unknown_version"
        assert r.json()["detail"] == "challenger 'v9': model 'm' has no events of that version; its versions: v1, v2"
        r = client.get("/v1/models/m/compare", params={"champion": "v2", "challenger": "v2"})
        assert r.status_code == 422 and r.json()["detail"] == ("champion and challenger are both 'v2': name two "
                                                               "different versions of model 'm'")
        r = client.get("/v1/models/nope/compare", params={"champion": "v1", "challenger": "v2"})
        assert r.status_code == 404 and r.json()["error"] == "unknown_model"
        r = client.get("/v1/models/m/compare", params={"champion": "v1", "challenger": "v2", "since": "yesterday"})
        assert r.status_code == 400 and "since: 'yesterday'" in r.json()["detail"]
    finally:
        mon.stop()


def test_too_few_labels_wait_for_the_number_mcnemar_needs(tmp_path, ref) -> None:
    mon, client = _start(tmp_path, ref)
    try:
        rng = np.random.default_rng(2)
        events, labels, t = _traffic(rng, 400, weak=1.0, strong=1.3)
        _post(client, "acc", "events", events)
        _post(client, "acc", "labels", labels[:60])
        assert mon.wait_idle()
        out = _compare(client, "acc", "v1", "v2")
        assert (out["metric"], out["mode"], out["matched"]) == ("accuracy", "paired", 60)
        y, s1, s2 = t["y"][:60], t["s1"][:60], t["s2"][:60]
        c1, c2 = (s1 >= 0.5) == (y == 1), (s2 >= 0.5) == (y == 1)
        psi = ((c1 & ~c2).sum() + (~c1 & c2).sum()) / 60
        delta = 0.02 * c1.mean()
        za, zb = sps.norm.ppf(0.975), sps.norm.ppf(0.8)
        needed = math.ceil((za * math.sqrt(psi) + zb * math.sqrt(psi - delta ** 2)) ** 2 / delta ** 2)
        v = out["verdict"]
        assert v["decision"] == "wait" and v["labels_needed"] == out["labels_needed"] == needed - 60
        assert v["evidence"]["plan"]["method"] == "connor_mcnemar"
        assert v["reasons"][0] == "too few labels for a verdict on accuracy: 60 shared ids, at least 100 needed"
    finally:
        mon.stop()


def test_split_traffic_is_unpaired_and_partly_shared_ids_are_mixed(tmp_path, ref) -> None:
    mon, client = _start(tmp_path, ref)
    try:
        rng = np.random.default_rng(3)
        events, labels, t = _traffic(rng, N, shadow=False)
        # v3 shadows v1 on a third of v1's ids
        v1_ids = [e["id"] for e in events if e["version"] == "v1"]
        shared = set(v1_ids[::3])
        events += [{**e, "version": "v3"} for e in events if e["version"] == "v1" and e["id"] in shared]
        _post(client, "m", "events", events)
        _post(client, "m", "labels", labels)
        assert mon.wait_idle()
        out = _compare(client, "m", "v1", "v2")
        to_v2, y = t["to_v2"], t["y"]
        assert (out["mode"], out["analysis"], out["matched"]) == ("unpaired", "unpaired", 0)
        assert out["labels"] == {"champion": int((~to_v2).sum()), "challenger": int(to_v2.sum()), "matched": 0}
        auc = out["differences"]["roc_auc"]
        assert auc["interval"] == "delong" and auc["paired"] is False
        assert auc["difference"] == pytest.approx(roc_auc_score(y[to_v2], t["s2"][to_v2])
                                                  - roc_auc_score(y[~to_v2], t["s1"][~to_v2]), abs=1e-12)
        assert out["differences"]["accuracy"]["interval"] == "newcombe" and out["paired_test"] is None
        mixed = _compare(client, "m", "v1", "v3")
        assert (mixed["mode"], mixed["matched"]) == ("mixed", len(shared))
        # the shared ids are every v3 label: at least half of the smaller version's, so they are analysed paired
        assert mixed["analysis"] == "paired" and mixed["differences"]["roc_auc"]["difference"] == 0.0
    finally:
        mon.stop()


def test_a_canary_that_errors_and_slows_is_rolled_back_before_any_label(tmp_path, ref) -> None:
    mon, client = _start(tmp_path, ref)
    try:
        rng = np.random.default_rng(4)
        events = []
        for i in range(2000):
            base = event(f"q{i}", rng, timestamp=T0 - 1800 + i / 2)
            v2 = i % 5 == 0  # a 20% canary
            events.append({**base, "version": "v2" if v2 else "v1",
                           "latency_ms": float(rng.lognormal(3.6 if v2 else 3, 0.3)),
                           **({"status": 503} if v2 and rng.random() < 0.1 else {})})
        _post(client, "m", "events", events)
        assert mon.wait_idle()
        out = _compare(client, "m", "v1", "v2")
        v = out["verdict"]
        assert v["decision"] == "rollback" and out["labels"]["champion"] == 0
        errors = sum(1 for e in events if e.get("status") == 503)
        er = out["operational"]["error_rate"]
        assert (er["n_champion"], er["n_challenger"]) == (1600, 400) and er["challenger"] == errors / 400
        assert any(r.startswith("error rate") and "above the allowed rise" in r for r in v["reasons"])
        assert any(r.startswith("p95 latency") and "above the allowed x1.2" in r for r in v["reasons"])
    finally:
        mon.stop()


def test_regression_and_multiclass_models_compare_on_their_own_metrics(tmp_path) -> None:
    rng = np.random.default_rng(6)
    df = reference_frame(3000, seed=3)
    df["score"] = 2 * df["x0"]
    df["y"] = df["score"] + rng.normal(0, 1, len(df))
    df["pred"] = rng.choice(["a", "b", "c"], len(df))
    df["cls"] = np.where(rng.random(len(df)) < 0.7, df["pred"], rng.choice(["a", "b", "c"], len(df)))
    running = start_monitor(tmp_path / "data",
                            (ModelConfig(model="reg", lateness="2h"), Reference.from_frame(
                                df.drop(columns=["pred", "cls"]), prediction="score", target="y")),
                            (ModelConfig(model="mc", lateness="2h"), Reference.from_frame(
                                df.drop(columns=["score", "y"]), prediction="pred", target="cls")), settings=PERF)
    mon, client = running.monitor, running.client
    try:
        n = 600
        truth = rng.normal(0, 3, n)
        p1, p2 = truth + rng.normal(0, 1.5, n), truth + rng.normal(0, 1.0, n)
        cls = rng.choice(["a", "b", "c"], n)
        other = {"a": "b", "b": "c", "c": "a"}
        m1 = np.where(rng.random(n) < 0.6, cls, [other[c] for c in cls])
        m2 = np.where(rng.random(n) < 0.8, cls, [other[c] for c in cls])
        for model, preds, labels in (("reg", (p1, p2), truth), ("mc", (m1, m2), cls)):
            events = []
            for i in range(n):
                base = event(f"k{i}", rng, timestamp=T0 - 3600 + i)
                for v, pr in zip(("v1", "v2"), preds):
                    events.append({**base, "version": v, "prediction": pr[i].item()})
            _post(client, model, "events", events)
            _post(client, model, "labels", [{"id": f"k{i}", "label": labels[i].item()} for i in range(n)])
        assert mon.wait_idle()
        reg = _compare(client, "reg", "v1", "v2")
        e1, e2 = np.abs(p1 - truth), np.abs(p2 - truth)
        mae = reg["differences"]["mae"]
        assert (reg["task"], reg["metric"], reg["mode"], mae["interval"]) == ("regression", "mae", "paired", "paired_t")
        assert mae["difference"] == pytest.approx(e2.mean() - e1.mean(), abs=1e-12)
        assert reg["paired_test"]["p_value"] == pytest.approx(sps.ttest_rel(e2, e1).pvalue, rel=1e-9)
        rmse = reg["differences"]["rmse"]
        assert rmse["difference"] == pytest.approx(np.sqrt(np.mean(e2 ** 2)) - np.sqrt(np.mean(e1 ** 2)), abs=1e-12)
        assert reg["verdict"]["decision"] == "promote", reg["verdict"]
        mc = _compare(client, "mc", "v1", "v2")
        c1, c2 = m1 == cls, m2 == cls
        acc = mc["differences"]["accuracy"]
        assert (mc["task"], mc["metric"], acc["interval"]) == ("multiclass", "accuracy", "agresti_min")
        assert acc["difference"] == pytest.approx(c2.mean() - c1.mean(), abs=1e-12)
        assert (mc["paired_test"]["champion_right_challenger_wrong"], mc["paired_test"]["champion_wrong_challenger_right"]) \
            == (int((c1 & ~c2).sum()), int((~c1 & c2).sum()))
        assert mc["versions"]["v2"]["metrics"]["accuracy"]["value"] == pytest.approx(c2.mean(), abs=1e-12)
        r = client.get("/v1/models/mc/compare", params={"champion": "v1", "challenger": "v2"})
        assert r.status_code == 200
    finally:
        mon.stop()
