"""Retraining advice: the decision rules one by one (pure), then the service's
advice from real windows, labels and findings (drift that hurts -> retrain on
the window since its onset; drift that does not -> no action, said; no labels
-> investigate; a worse new version -> roll back)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from argusml.checks.advice import AdviceInputs, DriftRun, Drop, advise
from argusml.cli.main import app
from argusml.monitor import Settings
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from service_util import Clock, LiveServer, start_monitor

DAY = 86400.0
NOW = 1_800_000_000.0


def inputs(**kw: object) -> AdviceInputs:
    base: dict[str, object] = dict(model="m", version="v1", now=NOW, lookback=7 * DAY, drift=None, drift_ended=None,
                                   realised_drop=None, estimated_drop=None, judged_ok=None, weak_segments=[],
                                   proxy_shifts=[], labels_since={}, predictions_per_day=10_000.0, rollback=None,
                                   min_retrain_labels=1000, retrain_cost=None, error_cost=None, horizon_days=30.0)
    base.update(kw)
    return AdviceInputs(**base)  # type: ignore[arg-type]


DRIFT = DriftRun(onset=NOW - 2 * DAY, windows=24, features=["income", "age"], multivariate=True,
                 residual_features=["income"])
DROP = Drop(metric="accuracy", current=0.80, baseline=0.90, since=NOW - DAY, labels=500)


def test_nothing_moved_is_no_action():
    a = advise(inputs())
    assert a["decision"] == "no_action" and "No drift, no performance drop" in a["summary"]


def test_drop_after_drift_with_enough_labels_retrains_on_the_window_since_onset():
    a = advise(inputs(drift=DRIFT, realised_drop=DROP, labels_since={DRIFT.onset: 5000}))
    assert a["decision"] == "retrain"
    assert a["evidence"]["retrain_window"] == {"start": DRIFT.onset, "labels": 5000, "needed": 1000}
    assert "since drift began" in a["actions"][0] and "5000 labelled predictions" in a["actions"][0]
    assert "income, age" in a["summary"] and "accuracy fell to 0.8 from 0.9" in a["summary"]


def test_drop_without_drift_is_a_changed_relationship():
    a = advise(inputs(realised_drop=DROP, labels_since={DROP.since: 2000}))
    assert a["decision"] == "retrain"
    assert a["evidence"]["retrain_window"]["start"] == DROP.since
    assert "relationship changed" in a["actions"][0]


def test_too_few_labels_to_retrain_is_investigate_with_the_number():
    a = advise(inputs(drift=DRIFT, realised_drop=DROP, labels_since={DRIFT.onset: 300}))
    assert a["decision"] == "investigate"
    assert "Only 300 labelled predictions" in a["summary"] and "1000 are needed" in a["summary"]
    assert "argus sample" in a["actions"][0]


def test_costs_decide_whether_a_retrain_pays():
    # 0.1 accuracy x 10,000 predictions/day x 30 days x 0.5 per error = 15,000
    cheap = advise(inputs(realised_drop=DROP, labels_since={DROP.since: 2000}, error_cost=0.5, retrain_cost=20_000))
    assert cheap["decision"] == "investigate" and cheap["evidence"]["expected_loss"] == pytest.approx(15_000)
    assert "less than a retrain" in cheap["summary"]
    dear = advise(inputs(realised_drop=DROP, labels_since={DROP.since: 2000}, error_cost=0.5, retrain_cost=10_000))
    assert dear["decision"] == "retrain" and "more than a retrain" in dear["summary"]
    # a ranking metric has no per-prediction price: the rule decides, and no loss is claimed
    auc = Drop(metric="roc_auc", current=0.7, baseline=0.8, since=NOW - DAY, labels=500)
    a = advise(inputs(realised_drop=auc, labels_since={auc.since: 2000}, error_cost=0.5, retrain_cost=1e9))
    assert a["decision"] == "retrain" and "expected_loss" not in a["evidence"]


def test_drift_that_labels_show_harmless_is_wait_and_says_so():
    """The tree's last step before "no action": drift shown harmless is "wait" (it moved, and nothing is to be
    done about it but rebase the reference), said so nobody retrains on a false alarm."""
    ok = {"start": NOW - 7200, "end": NOW - 3600, "labels": 800, "metrics": {}}
    a = advise(inputs(drift=DRIFT, judged_ok=ok))
    assert a["decision"] == "wait" and "Performance holds on 800 labels" in a["summary"]
    assert a["summary"].startswith("Wait. Drift since ") and "drift for 2.0 days" in a["summary"]
    assert "argus reference set" in a["actions"][0]
    # judged before the drift began: it cannot vouch for the drifted period
    old = {"start": DRIFT.onset - 3601, "end": DRIFT.onset - 1, "labels": 800, "metrics": {}}
    b = advise(inputs(drift=DRIFT, judged_ok=old))
    assert b["decision"] == "investigate" and "No labelled window wholly after the drift began" in b["summary"]
    # nor can a window that straddles the onset: its clean half may hide a drop in the drifted half
    half = {"start": DRIFT.onset - 1800, "end": DRIFT.onset + 1800, "labels": 800, "metrics": {}}
    c = advise(inputs(drift=DRIFT, judged_ok=half))
    assert c["decision"] == "investigate" and "Performance holds" not in c["summary"]


def test_drop_that_began_before_the_drift_does_not_deny_the_drift():
    """Drift found from 19:32, performance dropped from 19:00 on hourly windows: the hour that dropped holds
    the drift's start, so the drift explains it; a drop a whole window before the drift is said as such."""
    onset = NOW - 2 * 3600 + 1920
    d = DriftRun(onset=onset, windows=10, features=["radius"], multivariate=False)
    drop = Drop(metric="accuracy", current=0.67, baseline=0.95, since=NOW - 2 * 3600, labels=500, window=3600.0)
    a = advise(inputs(drift=d, realised_drop=drop, labels_since={onset: 5000}))
    assert a["decision"] == "retrain" and "since drift began" in a["actions"][0]
    assert "no input drift explains it" not in a["summary"] + " ".join(a["actions"])
    early = Drop(metric="accuracy", current=0.67, baseline=0.95, since=NOW - 5 * 3600, labels=500, window=3600.0)
    b = advise(inputs(drift=d, realised_drop=early, labels_since={early.since: 5000}))
    assert b["decision"] == "retrain" and "no input drift explains it" not in " ".join(b["actions"])
    assert "before the input drift found from" in b["actions"][0]


def test_open_p0_p1_findings_are_never_no_action():
    f = [{"check": "all_null", "column": f"x{i}", "severity": "P0", "window_start": NOW - 600,
          "window_end": NOW - 300} for i in range(6)]
    a = advise(inputs(open_findings=f))
    assert a["decision"] == "fix_data"  # a quality finding: the data is broken, fix it first
    assert "P0 all_null on x0, x1, x2 and 3 more" in a["summary"] and "No drift" not in a["summary"]
    assert a["evidence"]["open_findings"] == f and "all_null" in a["actions"][0]
    # drift that labels show harmless, but its findings are open: said, and not "no action"
    ok = {"start": NOW - 7200, "end": NOW - 3600, "labels": 800, "metrics": {}}
    drift = [{"check": "drift", "column": "income", "severity": "P1", "window_start": NOW - 600,
              "window_end": NOW - 300}]
    b = advise(inputs(drift=DRIFT, judged_ok=ok, open_findings=drift))
    assert b["decision"] == "wait" and "Performance holds" in b["summary"]
    assert "P1 drift on income" in b["summary"]


def test_estimated_drop_weak_segments_and_proxies_are_investigate():
    est = Drop(metric="accuracy", current=0.7, baseline=0.9, since=NOW - DAY, labels=3)
    assert advise(inputs(estimated_drop=est))["decision"] == "investigate"
    a = advise(inputs(weak_segments=["region=eu"]))
    assert a["decision"] == "investigate" and "region=eu" in a["actions"][0]
    assert advise(inputs(proxy_shifts=["entropy_mean"]))["decision"] == "investigate"


def test_rollback_wins():
    rb = {"previous": "v0", "reasons": ["accuracy 0.71 vs 0.90, difference -0.19 (95% CI -0.22 to -0.16)."]}
    a = advise(inputs(version="v1", rollback=rb, realised_drop=DROP, labels_since={DROP.since: 5000}))
    assert a["decision"] == "rollback" and a["summary"].startswith("Roll back. Version v1 is worse than v0")
    assert "Roll back to version v0" in a["actions"][0]


# -- the service -------------------------------------------------------------------------------------------------
PERF = Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600)


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    z = rng.normal(size=n)
    p = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"x": x, "z": z, "score": p, "label": (rng.random(n) < p).astype(int)})


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference.from_frame(_frame(20_000, 0), target="label", prediction="score")


def _run(tmp_path, reference: Reference, *, shift: float, flip: bool, label: bool, cli: bool = False,
         by_region: bool = False, reviews: dict | None = None) -> dict:
    """One hour of normal traffic, then two hours of ``shift``ed inputs; labels for all of it
    (``flip``: the shifted hours' labels no longer follow the score). ``cli``: also run `argus advise`
    against the app on a real socket. ``by_region``: events carry a region segment, and only region b's
    rows shift."""
    day0 = (NOW // DAY) * DAY + 8 * 3600
    clock = Clock(day0)
    running = start_monitor(tmp_path / "data", (ModelConfig(
        model="m", window="1h", lateness="1m", performance={"min_labels": 200}, advice={"min_retrain_labels": 1000},
        segments=["region"] if by_region else []), reference), clock=clock, settings=PERF)
    mon, store = running.monitor, running.store
    try:
        client = running.client
        for h, sh in enumerate((0.0, shift, shift)):
            t0 = day0 + h * 3600
            clock.t = t0 + 3500  # the hour's events are all in the past (none beyond the future skew)
            df = _frame(2000, 10 + h, sh)
            region = np.where(np.arange(len(df)) % 2 == 0, "a", "b")
            if by_region:  # region a keeps the reference's inputs
                same = _frame(2000, 10 + h)
                df[region == "a"] = same[region == "a"]
            rng = np.random.default_rng(20 + h)
            ev = [{"id": f"{h}-{i}", "timestamp": t0 + 5 + 1.5 * i, "features": {"x": r.x, "z": r.z}, "prediction": r.score,
                   **({"segment": {"region": str(g)}} if by_region else {})}
                  for i, (r, g) in enumerate(zip(df.itertuples(), region))]
            assert client.post("/v1/models/m/events", json=ev).status_code == 200
            if label:
                y = df["label"].to_numpy()
                if flip and h > 0:
                    y = (rng.random(len(df)) < 0.5).astype(int)  # the score no longer tells anything
                lab = [{"id": f"{h}-{i}", "label": int(v)} for i, v in enumerate(y)]
                assert client.post("/v1/models/m/labels", json=lab).status_code in (200, 202)
        clock.t = day0 + 3 * 3600 + 120
        assert mon.wait_idle() and mon.wait_idle()
        mon.update_performance(force=True)
        out = client.get("/v1/models/m/advice").json()
        out["_status"] = client.get("/v1/models/m/status").json()["advice"]
        for name, est in (reviews or {}).items():  # a review sample's estimate, over HTTP and from `argus advise`
            params = {f"review_{k}": v for k, v in est.items()}
            out[name] = client.get("/v1/models/m/advice", params=params).json()
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps({**{k: v for k, v in est.items() if k != "n"}, "responded": est["n"],
                                        "method": "horvitz_thompson_stratified"}))
            with LiveServer(mon) as srv:
                out[f"{name}_cli"] = CliRunner().invoke(app, ["advise", "--url", srv.url, "--model", "m", "--review",
                                                             str(path), "--json"])
        if reviews:
            out["_incomplete"] = client.get("/v1/models/m/advice", params={"review_metric": "accuracy"})
            out["_unknown"] = client.get("/v1/models/m/advice", params={
                "review_metric": "roc_auc", "review_value": 0.5, "review_low": 0.4, "review_high": 0.6, "review_n": 9})
        if cli:
            with LiveServer(mon) as srv:
                out["_cli"] = CliRunner().invoke(app, ["advise", "--url", srv.url, "--model", "m"])
                out["_cli_json"] = CliRunner().invoke(app, ["advise", "--url", srv.url, "--model", "m", "--json"])
                out["_cli_404"] = CliRunner().invoke(app, ["advise", "--url", srv.url, "--model", "nope"])
        return out
    finally:
        mon.stop()
        store.close()


@pytest.mark.service
def test_service_drift_that_hurts_says_retrain_since_its_onset(tmp_path, reference):
    a = _run(tmp_path, reference, shift=1.5, flip=True, label=True, cli=True)
    v = a["versions"]["unversioned"]
    assert a["decision"] == "retrain" == v["decision"]
    onset = v["evidence"]["drift"]["onset"]
    assert onset == (NOW // DAY) * DAY + 9 * 3600  # the first shifted hour
    assert v["evidence"]["retrain_window"] == {"start": onset, "labels": 4000, "needed": 1000}
    assert "x" in v["evidence"]["drift"]["features"] and "z" not in v["evidence"]["drift"]["features"]
    assert a["_status"]["decision"] == "retrain" and a["_status"]["summary"] == a["summary"]
    # `argus advise`: the decision first, reasons and actions after; exit 1 (a pipeline can gate on it)
    r = a["_cli"]
    assert r.exit_code == 1, r.output
    assert r.stdout.startswith("RETRAIN: m version unversioned\n  - Drift since ")
    assert "  -> Retrain on data since drift began" in r.stdout
    assert json.loads(a["_cli_json"].stdout)["decision"] == "retrain"
    assert a["_cli_404"].exit_code == 2 and a["_cli_404"].stderr.startswith("argus: error: ")
    assert "nope" in a["_cli_404"].stderr and "Traceback" not in a["_cli_404"].output


@pytest.mark.service
def test_service_drift_that_does_not_hurt_says_so_without_a_retrain(tmp_path, reference):
    a = _run(tmp_path, reference, shift=1.5, flip=False, label=True)
    # the drift findings of the newest window are open, and labels show the drift harmless: wait, no retrain
    assert a["decision"] == "wait", a["summary"]
    assert "Performance holds" in a["summary"] and "Open finding(s)" in a["summary"]
    assert "No retrain needed" in " ".join(a["versions"]["unversioned"]["actions"])


@pytest.mark.service
def test_service_a_review_estimate_weighs_where_labels_are_missing(tmp_path, reference):
    """No labels: drift alone is "investigate". A review sample whose accuracy interval lies wholly below the
    reference's says the drop is real; one whose interval reaches it shows the drift harmless: wait."""
    a = _run(tmp_path, reference, shift=1.5, flip=False, label=False, reviews={
        "worse": {"metric": "accuracy", "value": 0.2, "low": 0.1, "high": 0.3, "n": 150},
        "same": {"metric": "accuracy", "value": 0.75, "low": 0.0, "high": 1.0, "n": 150}})
    assert a["decision"] == "investigate" and "review" not in a["versions"]["unversioned"]["evidence"]
    worse = a["worse"]["versions"]["unversioned"]
    assert worse["decision"] in ("investigate", "disable_feature"), worse["summary"]
    assert "The review sample's weighted estimate of accuracy is 0.2 (0.1 to 0.3, 150 reviewed)" in worse["summary"]
    assert "credibly worse, the drop is real" in worse["summary"]
    base = worse["evidence"]["review"]["baseline"]
    assert 0.3 < base <= 1.0  # the reference's own accuracy
    assert a["same"]["decision"] == "wait" and "no sign of a drop" in a["same"]["summary"], a["same"]["summary"]
    cli = a["worse_cli"]
    assert json.loads(cli.stdout)["versions"]["unversioned"]["evidence"]["review"] == worse["evidence"]["review"]
    assert a["_incomplete"].status_code == 422 and "missing review_value, review_low, review_high, review_n" in \
        a["_incomplete"].json()["detail"]
    assert a["_unknown"].status_code == 422 and "use accuracy or mean_absolute_error" in a["_unknown"].json()["detail"]


@pytest.mark.service
def test_service_drift_without_labels_is_investigate(tmp_path, reference):
    a = _run(tmp_path, reference, shift=1.5, flip=False, label=False)
    assert a["decision"] == "investigate"
    assert "No labelled window wholly after the drift began" in a["summary"]


@pytest.mark.service
def test_advice_of_unknown_model_is_404(running_monitor):
    client = running_monitor(data="d", settings=Settings(), clock=Clock(NOW), start=False).client
    r = client.get("/v1/models/nope/advice")
    assert r.status_code == 404


def test_labels_outrank_proxies():
    ok = {"end": NOW - 3600, "labels": 800, "metrics": {}}
    a = advise(inputs(drift=DRIFT, judged_ok=ok, proxy_shifts=["entropy_mean"]))
    assert a["decision"] == "wait" and "labelled performance outranks them" in a["summary"]


@pytest.mark.service
def test_service_a_worse_new_version_says_roll_back(tmp_path, reference):
    day0 = (NOW // DAY) * DAY + 8 * 3600
    clock = Clock(day0)
    running = start_monitor(tmp_path / "data", (ModelConfig(model="m", window="1h", lateness="1m",
                                                            performance={"min_labels": 200}), reference),
                            clock=clock, settings=PERF)
    mon, store = running.monitor, running.store
    try:
        client = running.client
        for h, version in enumerate(("v1", "v2", "v2")):
            t0 = day0 + h * 3600
            clock.t = t0 + 3500
            df = _frame(2000, 30 + h)
            rng = np.random.default_rng(40 + h)
            # v2 scores noise: its labels still follow the true probability
            score = df["score"].to_numpy() if version == "v1" else rng.random(len(df))
            ev = [{"id": f"{h}-{i}", "timestamp": t0 + 5 + 1.5 * i, "version": version,
                   "features": {"x": r.x, "z": r.z}, "prediction": float(s)}
                  for i, (r, s) in enumerate(zip(df.itertuples(), score))]
            assert client.post("/v1/models/m/events", json=ev).status_code == 200
            lab = [{"id": f"{h}-{i}", "label": int(v), "version": version} for i, v in enumerate(df["label"])]
            assert client.post("/v1/models/m/labels", json=lab).status_code in (200, 202)
        clock.t = day0 + 3 * 3600 + 120
        assert mon.wait_idle() and mon.wait_idle()
        mon.update_performance(force=True)
        a = client.get("/v1/models/m/advice").json()
        assert a["decision"] == "rollback" and a["version"] == "v2", a["summary"]
        v2 = a["versions"]["v2"]
        assert v2["evidence"]["rollback"]["previous"] == "v1"
        assert v2["summary"].startswith("Roll back. Version v2 is worse than v1")
        assert a["versions"]["v1"]["decision"] != "rollback"
    finally:
        mon.stop()
        store.close()


@pytest.mark.service
def test_service_advice_names_the_segments_that_drifted(tmp_path, reference):
    a = _run(tmp_path, reference, shift=2.0, flip=False, label=False, by_region=True)
    drift = a["versions"]["unversioned"]["evidence"]["drift"]
    assert drift["segments"] == ["region=b"] and "x" in drift["features"]
    assert "Drifted most in segment(s) region=b." in a["summary"]
