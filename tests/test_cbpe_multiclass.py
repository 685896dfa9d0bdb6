"""Label-free estimation for multiclass models: the estimates are the mean realised metrics of labels drawn
from the probabilities, their intervals hold the realised metric as often as they claim under covariate
shift, recalibration repairs an over-confident model, the predicted-class mix proxy is quiet on random
splits and loud on a real change, the baseline keeps it all through JSON, and the service shows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from argusml.profile import Reference
from argusml.stats.cbpe import (
    MulticlassCalibration,
    calibration_test_multiclass,
    class_ratio_shift,
    estimate_multiclass,
    isotonic_multiclass,
    multiclass_proxies,
    proxies,
    proxy_shifts,
)
from argusml.stats.performance import multiclass_metrics

CLASSES = ["a", "b", "c"]
WEIGHTS = np.array([[1.6, 0.0, -1.6], [-0.4, 1.3, -0.4], [0.5, -0.6, 0.1]])
"""Three features to three classes' logits: class b lives where x1 is high, a and c at either end of x0."""
NAMES = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc_macro")


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def draw(rng: np.random.Generator, P: np.ndarray) -> np.ndarray:
    """One label per row, y_i ~ Categorical(P_i): the column index."""
    return np.minimum((rng.random(len(P))[:, None] > P.cumsum(axis=1)).sum(axis=1), P.shape[1] - 1)


def labels(idx: np.ndarray, classes: list[str] = CLASSES) -> np.ndarray:
    return np.array(classes, dtype=object)[idx]


def inputs(rng: np.random.Generator, n: int, shift: float = 0.0, spread: float = 1.0) -> np.ndarray:
    return rng.normal(loc=shift, scale=spread, size=(n, 3))


@pytest.mark.slow  # a Monte Carlo check: its power is in its thousands of simulated draws
def test_the_estimates_are_the_mean_realised_metrics_of_labels_drawn_from_the_probabilities():
    """One window of 300 rows, 4 classes, scores rounded so every class has ties; 1,500 label draws.

    Tolerance: accuracy and macro precision are linear in the labels, so the estimate is their exact
    expectation: 4 Monte Carlo standard errors. Recall, F1 and AUC are ratios, estimated by the ratio of
    the expected sums, which differs from the expected ratio by O(1/n) (about 0.002 here, a tenth of the
    metric's own spread): 4 standard errors plus a tenth of the metric's standard deviation."""
    rng = np.random.default_rng(11)
    classes = list("abcd")
    P = softmax(np.round(rng.normal(size=(300, 4)) * 1.5, 1))
    est = estimate_multiclass(P)
    draws = {k: [] for k in NAMES}
    for _ in range(1500):
        real = multiclass_metrics(labels(draw(rng, P), classes), P, classes, resamples=0)
        for k in NAMES:
            draws[k].append(real[k].value)
    for k in NAMES:
        v = np.array(draws[k])
        se = v.std() / np.sqrt(v.size)
        tol = 4 * se + (0 if k in ("accuracy", "precision_macro") else 0.1 * v.std())
        assert abs(est[k].value - v.mean()) <= tol, (k, est[k].value, v.mean(), tol)
        # the interval's width is that of the realised spread (delta method vs the draws' own sd)
        assert (est[k].high - est[k].low) / 3.92 == pytest.approx(v.std(), rel=0.1), k
    # accuracy is the mean probability of the predicted class, exactly
    assert est["accuracy"].value == pytest.approx(P.max(axis=1).mean(), abs=1e-15)


@pytest.mark.slow  # a Monte Carlo check: its power is in its thousands of simulated draws
def test_intervals_hold_the_realised_metrics_95_percent_of_the_time_under_covariate_shift():
    """A calibrated 3-class model over 1,000 windows of 600 rows whose inputs move (P(y | x) does not): the
    realised accuracy, macro precision, recall, F1 and one-vs-rest AUC each lie in the estimate's 95%
    interval in 93-97% of windows (the binomial spread of 1,000 windows at 95% is 0.7%), unbiased."""
    rng = np.random.default_rng(7)
    cover = dict.fromkeys(NAMES, 0)
    err: dict[str, list[float]] = {k: [] for k in NAMES}
    windows = 1000
    for w in range(windows):
        P = softmax(inputs(rng, 600, shift=0.35 * (w % 5) - 0.7, spread=1.0 - 0.1 * (w % 3)) @ WEIGHTS)
        est = estimate_multiclass(P)
        real = multiclass_metrics(labels(draw(rng, P)), P, CLASSES, resamples=0)
        for k in NAMES:
            cover[k] += est[k].low <= real[k].value <= est[k].high
            err[k].append(est[k].value - real[k].value)
    for k in NAMES:
        assert 930 <= cover[k] <= 970, (k, cover[k])
        assert abs(np.mean(err[k])) < 0.003, (k, np.mean(err[k]))


def test_the_calibration_check_passes_calibrated_models_and_recalibration_repairs_an_over_confident_one():
    rng = np.random.default_rng(3)
    rejected = 0
    for _ in range(100):  # calibrated references: Holm over the three classes keeps false alarms near 1%
        P = softmax(inputs(rng, 3000) @ WEIGHTS)
        rejected += calibration_test_multiclass(P, draw(rng, P))["p_value"] < 0.01
    assert rejected <= 4

    # over-confident: the model reports softmax(2.5 z) where the truth is softmax(z); the argmax is the same
    z = inputs(rng, 20_000) @ WEIGHTS
    truth, said = softmax(z), softmax(2.5 * z)
    y = draw(rng, truth)
    assert calibration_test_multiclass(said, y)["p_value"] < 1e-6
    cal = isotonic_multiclass(said, y, CLASSES)
    assert MulticlassCalibration.from_dict(cal.to_dict()) == cal
    before: dict[str, list[float]] = {"accuracy": [], "f1_macro": []}
    after: dict[str, list[float]] = {"accuracy": [], "f1_macro": []}
    for w in range(100):
        zw = inputs(rng, 800, shift=0.3 * (w % 4) - 0.45) @ WEIGHTS
        tw, sw = softmax(zw), softmax(2.5 * zw)
        real = multiclass_metrics(labels(draw(rng, tw)), sw, CLASSES, resamples=0)
        raw, fixed = estimate_multiclass(sw), estimate_multiclass(cal(sw), score=sw)
        for k in before:
            before[k].append(abs(raw[k].value - real[k].value))
            after[k].append(abs(fixed[k].value - real[k].value))
    for k in before:
        assert np.mean(before[k]) > 0.08, (k, np.mean(before[k]))  # the raw confidence overstates the metric
        assert np.mean(after[k]) < 0.025, (k, np.mean(after[k]))  # within the windows' own sampling spread


def test_proxies_by_hand_and_entropy_consistent_with_the_binary_proxies():
    P = np.array([[0.95, 0.03, 0.02], [0.2, 0.5, 0.3], [1 / 3, 1 / 3, 1 / 3]])
    got = multiclass_proxies(P, P.argmax(axis=1), CLASSES)
    assert got["high_confidence_rate"] == pytest.approx(1 / 3)
    assert got["class_ratio"] == {"a": pytest.approx(2 / 3), "b": pytest.approx(1 / 3), "c": 0.0}
    h = -(P * np.log(P)).sum(axis=1) / np.log(3)
    assert got["entropy_mean"] == pytest.approx(h.mean(), abs=1e-12) and h[2] == pytest.approx(1.0)
    # two classes: the same numbers as the binary proxies (normalised entropy is the binary entropy in bits)
    p = np.array([0.95, 0.05, 0.6, 0.5, 0.3])
    two = multiclass_proxies(np.c_[1 - p, p], (p >= 0.5).astype(int), ["0", "1"])
    one = proxies(p, p, 0.5)
    for k in ("high_confidence_rate", "entropy_mean", "entropy_sd"):
        assert two[k] == pytest.approx(one[k], abs=1e-12), k
    assert two["class_ratio"]["1"] == pytest.approx(one["positive_rate"])
    # and the class-mix test of two classes is the binary two-proportion z test: chi-square = z^2
    mix = class_ratio_shift({"0": 0.4, "1": 0.6}, {"0": 0.5, "1": 0.5}, 500, 2000)
    pooled = (0.6 * 500 + 0.5 * 2000) / 2500
    z = 0.1 / np.sqrt(pooled * (1 - pooled) * (1 / 500 + 1 / 2000))
    assert mix["statistic"] == pytest.approx(z * z, rel=1e-12) and mix["p_value"] == pytest.approx(2 * norm.sf(z))


def test_the_class_mix_proxy_is_quiet_on_random_splits_and_fires_on_a_real_change():
    rng = np.random.default_rng(4)
    population = softmax(inputs(rng, 20_000) @ WEIGHTS)
    flagged = material = 0
    for _ in range(200):  # two random windows of 400 predictions of the same population
        a, b = (population[rng.choice(population.shape[0], 400, replace=False)] for _ in range(2))
        one, two = (multiclass_proxies(w, w.argmax(axis=1), CLASSES) for w in (a, b))
        flagged += "class_ratio" in {s["proxy"] for s in proxy_shifts(one, two)}
        material += max(abs(one["class_ratio"][c] - two["class_ratio"][c]) for c in CLASSES) >= 0.05
    assert flagged <= 6  # at most 3% (the test runs at 0.05 / 3)
    assert material >= 30  # the 5-point gate alone would have flagged these: the chi-square test is what holds

    ref = multiclass_proxies(population, population.argmax(axis=1), CLASSES)
    shifted = softmax(inputs(rng, 3000, shift=0.0) @ WEIGHTS + np.array([0.0, 0.0, 0.8]))  # more c predicted
    cur = multiclass_proxies(shifted, shifted.argmax(axis=1), CLASSES)
    mix = next(s for s in proxy_shifts(cur, ref) if s["proxy"] == "class_ratio")
    assert mix["class"] == "c" and mix["change"] > 0.1 and mix["p_value"] < 1e-6 and mix["df"] == 2


def reference_frame(rng: np.random.Generator, n: int, scale: float = 1.0) -> pd.DataFrame:
    """A 3-class model's reference: features, the predicted probabilities as an ``{class: probability}``
    column (what events carry), and labels drawn from the true probabilities (``scale`` 1: calibrated)."""
    x = inputs(rng, n)
    z = x @ WEIGHTS
    df = pd.DataFrame({f"x{i}": x[:, i] for i in range(3)})
    df["pred"] = [dict(zip(CLASSES, r)) for r in softmax(scale * z).tolist()]
    df["label"] = labels(draw(rng, softmax(z)))
    return df


def test_the_baseline_stores_the_multiclass_calibration_and_proxies_through_json(tmp_path):
    from argusml.profile.labelled import estimates_of

    df = reference_frame(np.random.default_rng(5), 8000, scale=2.5)
    ref = Reference.from_frame(df, target="label", prediction="pred")
    perf = ref.performance
    assert perf["task"] == "multiclass" and ref.specs["pred"].kind.value == "categorical"
    cal = perf["calibration"]
    assert cal["test"] == "hosmer_lemeshow_one_vs_rest" and cal["recalibrated"] and cal["p_value"] < 0.01
    assert set(cal["per_class"]) == set(CLASSES) and cal["proxies"]["n"] == 8000
    ref.save(tmp_path / "base.json")
    back = Reference.load(tmp_path / "base.json")
    assert back.performance["calibration"] == cal
    assert MulticlassCalibration.from_dict(cal["map"]) == MulticlassCalibration.from_dict(
        back.performance["calibration"]["map"])
    # the prediction column is profiled, and scored, as its most probable class: as events' labels are
    probs = np.array([[d[c] for c in CLASSES] for d in df["pred"]])
    top = labels(probs.argmax(axis=1))
    assert ref.profile.columns["pred"].categories.counts == {c: int((top == c).sum()) for c in CLASSES}
    accuracy = estimates_of(perf["metrics"])["accuracy"]
    assert accuracy.value == pytest.approx(float((top == df["label"].to_numpy()).mean()), abs=1e-12)
    # a current frame of the same model is read the same way: its prediction column has not drifted
    import argusml

    current = argusml.report(back, reference_frame(np.random.default_rng(6), 3000, scale=2.5))
    assert not [f for f in current.findings if f.column == "pred"]


# -- the service: a 3-class model's windows ---------------------------------------------------------------

@pytest.mark.service
def test_the_service_estimates_a_multiclass_window_and_flags_a_degraded_mix_before_labels(tmp_path):
    """Hour 1: inputs like the reference's. Hour 2: the inputs moved to where the model is unsure between a and
    c, without labels: the estimated accuracy and macro F1 fall (a P2 finding), and the class-mix proxy says
    why. When the labels come, drawn from the true probabilities, the realised accuracy is where the
    estimate said, and the estimate's finding gives way to the labels."""
    from argusml.monitor import Settings
    from argusml.schema.model_config import ModelConfig
    from service_util import T0, Clock, start_monitor

    hour = 3600.0
    rng = np.random.default_rng(8)
    ref = Reference.from_frame(reference_frame(rng, 10_000), target="label", prediction="pred")
    assert not ref.performance["calibration"]["recalibrated"]
    clock = Clock()
    running = start_monitor(tmp_path / "data",  # two hours sent at once, as late events
                            (ModelConfig(model="m", window="5m", lateness="3h"), ref), clock=clock,
                            settings=Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600))
    mon, store, client = running.monitor, running.store, running.client
    try:
        events, truth = [], {}
        for h, shift, spread in ((2, 0.0, 1.0), (1, 0.0, 0.25)):
            x = inputs(rng, 3000, shift=shift, spread=spread)
            x[:, 1] = x[:, 1] - 1.0 if h == 1 else x[:, 1]  # hour 2: away from b, between a and c
            P = softmax(x @ WEIGHTS)
            for i in range(3000):
                eid = f"h{h}-{i}"
                events.append({"id": eid, "timestamp": T0 - h * hour + i, "features": {
                    f"x{j}": float(x[i, j]) for j in range(3)}, "prediction": dict(zip(CLASSES, P[i].tolist()))})
                truth[eid] = CLASSES[int(draw(rng, P[i:i + 1])[0])]
        for k in range(0, len(events), 2000):
            assert client.post("/v1/models/m/events", json=events[k:k + 2000]).status_code == 200
        assert mon.wait_idle()
        mon.update_performance(force=True)

        def hours() -> list[dict]:
            rows = client.get("/v1/models/m/performance", params={"granularity": "1h", "segment": "*"}).json()
            return sorted(rows["performance"], key=lambda w: w["start"])

        def findings(check: str) -> list[dict]:
            got = client.get("/v1/models/m/findings", params={"granularity": "1h", "limit": 1000}).json()
            return [f for f in got["findings"] if f["check"] == check]

        calm, moved = hours()
        assert calm["labels"] == moved["labels"] == 0 and calm["status"] == "insufficient_data"
        est = calm["estimated"]
        assert est["method"] == "cbpe" and est["predictions"] == 3000 and "assumes" in est
        assert set(est["metrics"]) == set(NAMES)
        assert set(est["proxies"]["class_ratio"]) == set(CLASSES)
        reference_accuracy = ref.performance["metrics"]["accuracy"]["value"]
        assert abs(est["metrics"]["accuracy"]["value"] - reference_accuracy) < 0.03
        assert moved["estimated"]["metrics"]["accuracy"]["value"] < reference_accuracy - 0.1
        drops = findings("estimated_performance_drop")
        assert drops and {f["window_start"] for f in drops} == {moved["start"]}
        assert {f["evidence"]["metric"] for f in drops} >= {"accuracy"} and all(f["severity"] == "P2" for f in drops)
        mix = [f for f in findings("proxy_shift") if f["evidence"]["proxy"] == "class_ratio"]
        assert [f["window_start"] for f in mix] == [moved["start"]]
        assert mix[0]["evidence"]["class"] == "b" and mix[0]["evidence"]["change"] < -0.1  # b's share collapsed
        assert mix[0]["message"].startswith("share predicted 'b'")
        assert 'argus_model_performance_estimated{metric="f1_macro",model="m",model_version="unversioned"}' in \
            client.get("/metrics").text

        post = [{"id": i, "label": y} for i, y in truth.items() if i.startswith("h1-")]
        assert client.post("/v1/models/m/labels", json=post).status_code == 200
        assert mon.wait_idle()
        mon.update_performance(force=True)
        now = hours()[1]
        realised, estimate = now["metrics"]["accuracy"]["value"], now["estimated"]["metrics"]["accuracy"]
        # one window: within 1.5 half-widths (about 3 standard errors); coverage is tested above
        assert now["labels"] == 3000 and abs(realised - estimate["value"]) <= 1.5 * (estimate["high"] - estimate["low"]) / 2
        assert not [f for f in findings("estimated_performance_drop") if f["window_start"] == moved["start"]]
    finally:
        mon.stop()
        store.close()
