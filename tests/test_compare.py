"""Champion against challenger: the differences, their intervals and tests (``stats.compare``), the labels
a decision needs, and the verdict (``checks.compare``).

Point values and tests are held to scipy and to direct computations (DeLong's variance from the O(n^2)
kernel; McNemar's exact test from ``binomtest``; Welch and paired t from ``ttest_ind``/``ttest_rel``).
Intervals are held to their coverage over simulated data: each stated number of repetitions, seeded, must
cover the true difference in 93-97% of them. The sample-size formulas are held to the power simulated at
the size they give."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from argusml.checks.compare import decide, metric_for
from argusml.schema import ConfigError
from argusml.schema.model_config import CompareSettings, model_config_from_dict
from argusml.stats import compare as sc
from argusml.store import EVENT_SCHEMA, Store

Z = sps.norm.ppf(0.975)


# -- point values and tests against scipy and hand computations ---------------------------------------
@pytest.mark.parametrize("b,c", [(3, 11), (11, 3), (7, 7), (0, 5), (0, 0), (40, 61), (1, 0)])
def test_mcnemar_exact_is_the_binomial_test_on_discordant_pairs(b, c) -> None:
    out = sc.mcnemar(b, c)
    if b + c == 0:
        assert out["p_exact"] == 1.0 and out["p_mid"] == 1.0
        return
    assert out["p_exact"] == pytest.approx(sps.binomtest(min(b, c), b + c, 0.5).pvalue, abs=1e-12)
    k, m = min(b, c), b + c
    mid = 2 * (sum(math.comb(m, i) for i in range(k + 1)) - math.comb(m, k) / 2) / 2 ** m
    assert out["p_mid"] == pytest.approx(min(1.0, mid), abs=1e-12)


def test_paired_accuracy_counts_agresti_min_interval_by_hand() -> None:
    rng = np.random.default_rng(0)
    c1 = rng.random(500) < 0.8
    c2 = np.where(rng.random(500) < 0.15, ~c1, c1)
    d = sc.paired_proportion_difference(c1, c2)
    b, c = int((c1 & ~c2).sum()), int((~c1 & c2).sum())
    assert (d.extra["b"], d.extra["c"], d.n_champion) == (b, c, 500)
    assert d.champion == c1.mean() and d.challenger == pytest.approx(c2.mean(), abs=1e-15)
    assert d.difference == pytest.approx(c2.mean() - c1.mean(), abs=1e-15)
    bs, cs, n = b + 0.5, c + 0.5, 502
    centre = (cs - bs) / n
    half = Z * math.sqrt(((bs + cs) - (cs - bs) ** 2 / n) / n ** 2)
    assert (d.low, d.high) == (pytest.approx(centre - half, abs=1e-12), pytest.approx(centre + half, abs=1e-12))
    assert d.p_value == pytest.approx(sps.binomtest(min(b, c), b + c).pvalue, abs=1e-12)


def test_newcombe_interval_equals_the_published_example() -> None:
    """Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339."""
    d = sc.proportion_difference(48, 80, 56, 70)
    assert d.difference == pytest.approx(0.2, abs=1e-12)
    assert round(d.low, 4) == 0.0524 and round(d.high, 4) == 0.3339
    pooled = 104 / 150
    z = 0.2 / math.sqrt(pooled * (1 - pooled) * (1 / 80 + 1 / 70))
    assert d.p_value == pytest.approx(2 * sps.norm.sf(z), abs=1e-12)


def _placements_direct(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's V10 and V01 from the kernel psi(x, y) = 1, 1/2, 0: O(m n)."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


def test_paired_delong_variance_equals_the_direct_covariance_computation() -> None:
    rng = np.random.default_rng(1)
    n = 120
    y = (rng.random(n) < 0.35).astype(int)
    s1 = np.round(rng.normal(size=n) + 0.8 * y, 1)  # rounded: ties within and across classes
    s2 = np.round(0.6 * s1 + rng.normal(size=n) * 0.8 + 0.7 * y, 1)
    d = sc.paired_auc_difference(y, s1, s2)
    v10_1, v01_1 = _placements_direct(y, s1)
    v10_2, v01_2 = _placements_direct(y, s2)
    m, k = v10_1.size, v01_1.size
    s10 = np.cov(np.vstack([v10_1, v10_2]))  # DeLong 1988: S10, S01 and var = L S L' / size
    s01 = np.cov(np.vstack([v01_1, v01_2]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / k
    assert d.champion == pytest.approx(roc_auc_score(y, s1), abs=1e-12)
    assert d.challenger == pytest.approx(roc_auc_score(y, s2), abs=1e-12)
    assert d.se == pytest.approx(math.sqrt(var), rel=1e-9)
    assert d.p_value == pytest.approx(2 * sps.norm.sf(abs(d.difference) / math.sqrt(var)), rel=1e-9)


def test_unpaired_delong_adds_the_two_variances() -> None:
    rng = np.random.default_rng(2)
    y1, y2 = (rng.random(150) < 0.3).astype(int), (rng.random(90) < 0.5).astype(int)
    s1, s2 = np.round(rng.normal(size=150) + y1, 1), np.round(rng.normal(size=90) + 2 * y2, 1)
    d = sc.auc_difference(y1, s1, y2, s2)
    var = 0.0
    for y, s in ((y1, s1), (y2, s2)):
        v10, v01 = _placements_direct(y, s)
        var += v10.var(ddof=1) / v10.size + v01.var(ddof=1) / v01.size
    assert d.difference == pytest.approx(roc_auc_score(y2, s2) - roc_auc_score(y1, s1), abs=1e-12)
    assert d.se == pytest.approx(math.sqrt(var), rel=1e-9)


def test_welch_and_paired_t_equal_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = np.abs(rng.normal(size=80)), np.abs(rng.normal(0, 1.5, size=55))
    d = sc.mean_difference(a, b)
    ref = sps.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert (d.low, d.high, d.p_value) == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12),
                                          pytest.approx(ref.pvalue, abs=1e-12))
    a2 = np.abs(rng.normal(size=70))
    b2 = np.abs(a2 + rng.normal(0, 0.3, size=70))
    d = sc.paired_mean_difference(a2, b2)
    ref = sps.ttest_rel(b2, a2)
    ci = ref.confidence_interval(0.95)
    assert (d.low, d.high, d.p_value) == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12),
                                          pytest.approx(ref.pvalue, abs=1e-12))


def test_rmse_differences_by_the_delta_method_by_hand() -> None:
    rng = np.random.default_rng(4)
    e1, e2 = rng.normal(0, 1, 200), rng.normal(0, 1.3, 200)
    d = sc.rmse_difference(e1 ** 2, e2 ** 2)
    r1, r2 = math.sqrt(np.mean(e1 ** 2)), math.sqrt(np.mean(e2 ** 2))
    se = math.sqrt(np.var(e1 ** 2, ddof=1) / (4 * 200 * r1 ** 2) + np.var(e2 ** 2, ddof=1) / (4 * 200 * r2 ** 2))
    assert d.difference == pytest.approx(r2 - r1, abs=1e-12) and d.se == pytest.approx(se, rel=1e-9)
    dp = sc.paired_rmse_difference(e1 ** 2, e2 ** 2)
    g = np.array([-1 / (2 * r1), 1 / (2 * r2)])
    cov = np.cov(np.vstack([e1 ** 2, e2 ** 2]))
    assert dp.se == pytest.approx(math.sqrt(g @ cov @ g / 200), rel=1e-9)


def test_quantile_difference_points_and_order_statistic_bounds() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(3, 0.5, 1001), rng.lognormal(3.2, 0.5, 777)
    d = sc.quantile_difference(a, b, 0.95)
    assert d.champion == pytest.approx(np.quantile(a, 0.95), abs=1e-12)
    assert d.challenger == pytest.approx(np.quantile(b, 0.95), abs=1e-12)
    lo, hi = sc.quantile_positions(1001, 0.95)
    half = Z * math.sqrt(1001 * 0.95 * 0.05)
    assert (lo, hi) == (pytest.approx(950 - half, abs=1e-9), pytest.approx(950 + half, abs=1e-9))
    # the bounds are the values at those positions, as numpy's linear quantile reads them; se = width / 2z
    se = lambda x: (np.quantile(x, (950 + half) / 1000) - np.quantile(x, (950 - half) / 1000)) / (2 * Z)  # noqa: E731
    se_b = (np.quantile(b, (0.95 * 776 + Z * math.sqrt(777 * 0.95 * 0.05)) / 776)
            - np.quantile(b, (0.95 * 776 - Z * math.sqrt(777 * 0.95 * 0.05)) / 776)) / (2 * Z)
    assert d.se == pytest.approx(math.sqrt(se(a) ** 2 + se_b ** 2), rel=1e-9)
    assert d.extra["ratio"] == pytest.approx(d.challenger / d.champion, rel=1e-12)
    assert d.extra["ratio_low"] < d.extra["ratio"] < d.extra["ratio_high"]


# -- coverage by simulation ----------------------------------------------------------------------------
def _coverage(draw, reps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        lo, hi, truth = draw(rng)
        hits += lo <= truth <= hi
    return hits / reps


AUC = sps.norm.cdf(np.array([1.0, 1.4]) / math.sqrt(2))  # binormal, unit variances: AUC = Phi(mu / sqrt 2)


def _newcombe(r):
    d = sc.proportion_difference(r.binomial(300, 0.85), 300, r.binomial(200, 0.9), 200)
    return d.low, d.high, 0.05


def _agresti_min(r):
    cells = r.multinomial(300, [0.7, 0.05, 0.1, 0.15])  # both right, champion only, challenger only, neither
    d = sc.paired_proportion_counts(int(cells[1]), int(cells[2]), 300, int(cells[0] + cells[1]))
    return d.low, d.high, 0.05


def _delong(r):
    y1, y2 = r.random(300) < 0.3, r.random(300) < 0.3
    d = sc.auc_difference(y1, r.normal(size=300) + y1, y2, r.normal(size=300) + 1.4 * y2)
    return d.low, d.high, AUC[1] - AUC[0]


def _delong_paired(r):
    y = r.random(400) < 0.3
    shared = r.normal(size=400) * math.sqrt(0.5)  # the two versions' scores correlate 0.5 given the label
    s1 = shared + r.normal(size=400) * math.sqrt(0.5) + y
    s2 = shared + r.normal(size=400) * math.sqrt(0.5) + 1.4 * y
    d = sc.paired_auc_difference(y, s1, s2)
    return d.low, d.high, AUC[1] - AUC[0]


def _welch(r):
    d = sc.mean_difference(np.abs(r.normal(0, 1, 300)), np.abs(r.normal(0, 1.2, 250)))
    return d.low, d.high, 0.2 * math.sqrt(2 / math.pi)


SD2 = math.sqrt(0.64 + 0.36 * 1.44)


def _paired_errors(r):
    z, e = r.normal(size=300), r.normal(size=300)
    return z, 0.8 * z + 0.6 * 1.2 * e  # challenger's error: sd SD2, correlated with the champion's


def _paired_t(r):
    a, b = _paired_errors(r)
    d = sc.paired_mean_difference(np.abs(a), np.abs(b))
    return d.low, d.high, (SD2 - 1) * math.sqrt(2 / math.pi)


def _rmse(r):
    d = sc.rmse_difference(r.normal(0, 1, 300) ** 2, r.normal(0, 1.2, 250) ** 2)
    return d.low, d.high, 0.2


def _rmse_paired(r):
    a, b = _paired_errors(r)
    d = sc.paired_rmse_difference(a ** 2, b ** 2)
    return d.low, d.high, SD2 - 1


Q95 = (math.exp(3 + 0.5 * sps.norm.ppf(0.95)), math.exp(3.1 + 0.6 * sps.norm.ppf(0.95)))


def _p95_difference(r):
    d = sc.quantile_difference(r.lognormal(3, 0.5, 500), r.lognormal(3.1, 0.6, 400), 0.95)
    return d.low, d.high, Q95[1] - Q95[0]


def _p95_ratio(r):
    d = sc.quantile_difference(r.lognormal(3, 0.5, 500), r.lognormal(3.1, 0.6, 400), 0.95)
    return d.extra["ratio_low"], d.extra["ratio_high"], Q95[1] / Q95[0]


def _median_difference(r):
    d = sc.quantile_difference(r.lognormal(3, 0.5, 500), r.lognormal(3.1, 0.6, 400), 0.5)
    return d.low, d.high, math.exp(3.1) - math.exp(3)


@pytest.mark.parametrize("draw,reps", [(_newcombe, 2000), (_agresti_min, 2000), (_delong, 800),
                                       (_delong_paired, 800), (_welch, 1000), (_paired_t, 1000), (_rmse, 1000),
                                       (_rmse_paired, 1000), (_p95_difference, 1000), (_p95_ratio, 1000),
                                       (_median_difference, 1000)],
                         ids=lambda v: getattr(v, "__name__", str(v)).strip("_"))
def test_intervals_cover_the_true_difference(draw, reps) -> None:
    cov = _coverage(draw, reps, seed=11)
    assert 0.93 <= cov <= 0.97, f"{draw.__name__}: coverage {cov:.3f} over {reps} repetitions"


# -- sample size against simulated power --------------------------------------------------------------
def test_connor_pairs_give_the_planned_power_to_the_paired_interval() -> None:
    psi, delta = 0.2, 0.05
    n = sc.mcnemar_pairs_needed(psi, delta)
    za, zb = Z, sps.norm.ppf(0.8)
    assert n == math.ceil((za * math.sqrt(psi) + zb * math.sqrt(psi - delta ** 2)) ** 2 / delta ** 2) == 626
    rng = np.random.default_rng(6)
    reps = 2000
    hits = 0
    for cells in rng.multinomial(n, [(psi - delta) / 2, (psi + delta) / 2, 1 - psi], size=reps):
        d = sc.paired_proportion_counts(int(cells[0]), int(cells[1]), n, int(cells[0]) + 300)
        hits += d.low > 0
    assert 0.77 <= hits / reps <= 0.83


@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_two_proportion_size_gives_the_planned_power(ratio) -> None:
    p1, delta = 0.8, 0.06
    n1, n2 = sc.two_proportion_n(p1, delta, ratio=ratio)
    p2, pbar = p1 - delta, (p1 + ratio * (p1 - delta)) / (1 + ratio)
    hand = (Z * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
            + sps.norm.ppf(0.8) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)) ** 2 / delta ** 2
    assert (n1, n2) == (math.ceil(hand), math.ceil(ratio * hand))
    rng = np.random.default_rng(7)
    reps = 2000
    hits = sum(sc.proportion_difference(int(x1), n1, int(x2), n2).high < 0
               for x1, x2 in zip(rng.binomial(n1, p1, reps), rng.binomial(n2, p2, reps)))
    assert 0.77 <= hits / reps <= 0.83


def test_labels_from_the_standard_error_give_the_planned_power_for_paired_auc() -> None:
    rng = np.random.default_rng(8)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = rng.random(n) < 0.3
        shared = rng.normal(size=n) * math.sqrt(0.5)
        return (y, shared + rng.normal(size=n) * math.sqrt(0.5) + y,
                shared + rng.normal(size=n) * math.sqrt(0.5) + 1.2 * y)

    truth = sps.norm.cdf(1.2 / math.sqrt(2)) - sps.norm.cdf(1 / math.sqrt(2))
    pilot = sc.paired_auc_difference(*draw(40_000))
    n = sc.n_from_se(40_000, pilot.se, truth)
    assert n == math.ceil(40_000 * ((Z + sps.norm.ppf(0.8)) * pilot.se / truth) ** 2)
    reps = 500
    power = sum(sc.paired_auc_difference(*draw(n)).low > 0 for _ in range(reps)) / reps
    assert 0.75 <= power <= 0.85


# -- the verdict --------------------------------------------------------------------------------------------
S = CompareSettings()


def _diff(metric: str, champion: float, diff: float, half: float, n: int, paired: bool = True,
          method: str = "delong_paired") -> sc.Difference:
    return sc.Difference(metric, champion, champion + diff, diff, diff - half, diff + half, method, 0.01, "z",
                         n, n, paired)


def test_promote_when_better_with_enough_labels() -> None:
    v = decide(_diff("roc_auc", 0.80, 0.05, 0.01, 5000), (5000, 5000), S)
    assert v.decision == "promote" and v.labels_needed is None
    assert v.reasons[0].startswith("the challenger is better: ROC AUC 0.85 for the challenger against 0.8")
    assert "+0.05 (95% interval +0.04 to +0.06" in v.reasons[0]


def test_promote_when_non_inferior_within_the_margin() -> None:
    # AUC 0.80, margin 1% of it = 0.008; the gain's interval -0.005 to +0.003 is above -0.008
    v = decide(_diff("roc_auc", 0.80, -0.001, 0.004, 50_000), (50_000, 50_000), S)
    assert v.decision == "promote" and "not worse by more than the margin of 0.008" in v.reasons[0]


def test_rollback_when_shown_worse_beyond_the_margin_and_lower_is_better_metrics_flip() -> None:
    v = decide(_diff("roc_auc", 0.80, -0.06, 0.01, 5000), (5000, 5000), S)
    assert v.decision == "rollback" and v.reasons[0].startswith("the challenger is worse")
    # MAE: a positive difference is worse
    v = decide(_diff("mae", 10.0, 2.0, 0.5, 5000, method="paired_t"), (5000, 5000), S)
    assert v.decision == "rollback"
    v = decide(_diff("mae", 10.0, -2.0, 0.5, 5000, method="paired_t"), (5000, 5000), S)
    assert v.decision == "promote"


def test_wait_with_too_few_labels_says_how_many_by_connor() -> None:
    d = sc.paired_proportion_counts(b=4, c=9, n=60, x1=45)  # 60 shared ids, 13 discordant
    v = decide(d, (60, 60), S.model_copy(update={"metric": "accuracy"}))
    delta = 0.02 * 0.75
    psi = 13 / 60
    need = math.ceil((Z * math.sqrt(psi) + sps.norm.ppf(0.8) * math.sqrt(psi - delta ** 2)) ** 2 / delta ** 2)
    assert v.decision == "wait" and v.labels_needed == need - 60
    assert v.reasons[0] == "too few labels for a verdict on accuracy: 60 shared ids, at least 100 needed"
    assert f"{need:,} labels are needed to detect a difference of 0.015 with power 0.8 at alpha 0.05" in v.reasons[2]


def test_wait_unpaired_counts_both_versions_by_the_two_proportion_formula() -> None:
    d = sc.proportion_difference(600, 800, 160, 200)  # a 20% canary
    v = decide(d, (800, 200), S)
    n1, n2 = sc.two_proportion_n(0.75, 0.015, ratio=0.25)
    assert v.decision == "wait" and v.labels_needed == n1 + n2 - 1000
    v = decide(sc.proportion_difference(40, 50, 45, 60), (50, 60), S)
    assert v.reasons[0] == ("too few labels for a verdict on accuracy: 50 labels of the champion and 60 of the "
                            "challenger, at least 100 needed of each")
    n1, n2 = sc.two_proportion_n(0.8, 0.016, ratio=60 / 50)
    assert v.labels_needed == n1 + n2 - 110


def test_early_looks_need_p_below_a_thousandth() -> None:
    """The plain 95% interval is above 0, but a fifth of the planned labels are in: Haybittle-Peto's
    boundary (z = 3.29) holds the verdict back; a strong effect passes it early."""
    d = _diff("roc_auc", 0.80, 0.03, 0.025, 1000)
    assert d.low > 0
    v = decide(d, (1000, 1000), S)
    plan = v.evidence["plan"]
    assert plan["needed"] == sc.n_from_se(1000, 0.025 / Z, 0.016) == 4989
    assert v.evidence["boundary_z"] == pytest.approx(sps.norm.isf(0.0005), rel=1e-12)
    assert v.evidence["decision_interval"] == pytest.approx([0.03 - 0.025 * 3.2905267 / Z,
                                                             0.03 + 0.025 * 3.2905267 / Z], rel=1e-6)
    assert v.decision == "wait" and v.labels_needed == plan["needed"] - 1000
    assert "an early look: 1,000 of the 4,989 planned labels, so the verdict asks for p < 0.001" in v.reasons[0]
    # the same difference with the planned labels in: promoted at the plain interval
    d = _diff("roc_auc", 0.80, 0.03, 0.025 * math.sqrt(1000 / plan["needed"]), plan["needed"])
    assert decide(d, (plan["needed"],) * 2, S).decision == "promote"
    # a strong effect early: promoted at once
    assert decide(_diff("roc_auc", 0.80, 0.1, 0.025, 1000), (1000, 1000), S).decision == "promote"


def test_after_the_planned_labels_an_undecided_difference_waits_for_what_would_tell_it() -> None:
    d = _diff("roc_auc", 0.80, -0.004, 0.006, 20_000)  # interval -0.010..+0.002 straddles -0.008
    v = decide(d, (20_000, 20_000), S)
    assert v.decision == "wait"
    distance = -0.004 + 0.008
    assert v.labels_needed == sc.n_from_se(20_000, 0.006 / Z, distance) - 20_000
    assert "are in: the difference is smaller than that" in v.reasons[1]


def test_operational_rollback_needs_no_labels_and_unclear_limits_hold_a_promotion() -> None:
    no_labels = sc.paired_proportion_counts(0, 0, 0, 0)
    errors = sc.proportion_difference(2, 1000, 80, 1000, metric="error_rate")
    v = decide(no_labels, (0, 0), S, error_rate=errors)
    assert v.decision == "rollback"
    assert v.reasons[0].startswith("error rate 8.00% for the challenger against 0.20% (+7.80 points")
    assert v.reasons[0].endswith("above the allowed rise of 1 percentage point")
    rng = np.random.default_rng(9)
    slow = sc.quantile_difference(rng.lognormal(3, 0.3, 2000), rng.lognormal(3.5, 0.3, 2000), 0.95)
    v = decide(no_labels, (0, 0), S, latency_p95=slow)
    assert v.decision == "rollback" and "above the allowed x1.2" in v.reasons[0]
    # better on the metric, but the error rate is not shown within the limit yet: wait
    few = sc.proportion_difference(0, 100, 1, 100, metric="error_rate")
    v = decide(_diff("roc_auc", 0.80, 0.05, 0.01, 5000), (5000, 5000), S, error_rate=few)
    assert v.decision == "wait" and "not yet shown within the allowed rise" in v.reasons[1]


def test_metric_per_task_and_config_keys() -> None:
    assert [metric_for(t, S) for t in ("binary", "multiclass", "regression")] == ["roc_auc", "accuracy", "mae"]
    with pytest.raises(ValueError, match=r"compare\.metric 'roc_auc' does not apply to a regression model"):
        metric_for("regression", CompareSettings(metric="roc_auc"))
    cfg = model_config_from_dict({"model": "m", "compare": {"metric": "accuracy", "margin": 0.0, "power": 0.9}}, "x")
    assert cfg.compare.metric == "accuracy" and cfg.compare.power == 0.9
    with pytest.raises(ConfigError, match="min_diference"):
        model_config_from_dict({"model": "m", "compare": {"min_diference": 0.1}}, "x")


# -- the store: the columns a comparison reads, and stores from before them ------------------------------
@pytest.mark.service
def test_old_store_gains_latency_and_status_and_narrow_writers_still_insert(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "argus.duckdb"))
    con.execute("""CREATE TABLE events(seq BIGINT, model VARCHAR, version VARCHAR, id VARCHAR, ts DOUBLE,
                   arrival DOUBLE, prediction DOUBLE, prediction_label VARCHAR, segment VARCHAR)""")
    con.execute("INSERT INTO events VALUES (1, 'm', 'v1', 'a', 10, 10, 0.5, NULL, NULL)")
    con.close()
    store = Store(tmp_path)
    try:
        names = [r[0] for r in store._rows("DESCRIBE events")]
        assert names == EVENT_SCHEMA.names
        # a writer built before the columns existed (a script against an older EVENT_SCHEMA)
        old = pa.table({"seq": [2], "model": ["m"], "version": ["v2"], "id": ["a"], "ts": [11.0], "arrival": [11.0],
                        "prediction": [0.7], "prediction_label": pa.nulls(1, pa.string()),
                        "segment": pa.nulls(1, pa.string())})
        store.index(old)
        new = pa.table({**{f.name: pa.nulls(1, f.type) for f in EVENT_SCHEMA}, "seq": [3], "model": ["m"],
                        "version": ["v2"], "id": ["b"], "ts": [12.0], "latency_ms": [40.0],
                        "status": pa.array([503], pa.int32())}, schema=EVENT_SCHEMA)
        store.index(new)
        ops = store.compare_operations("m", ["v1", "v2"], -math.inf, math.inf)
        counts = sorted(zip(*(ops["counts"].column(c).to_pylist() for c in ("version", "events", "errors"))))
        assert counts == [("v1", 1, 0), ("v2", 2, 1)]
        assert ops["latency"].column("latency_ms").to_pylist() == [40.0]
    finally:
        store.close()
