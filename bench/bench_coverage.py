#!/usr/bin/env python
"""Coverage of the 95% intervals of ``argusml.stats.performance``: how often they hold the true value.

    .venv/bin/python bench/bench_coverage.py [--windows 1000] [--multiclass-windows 300] [--sizes 200,2000]
                                             [--population 2000000] [--tasks binary,multiclass,regression]
                                             [--out bench/results/coverage.md]

Why: a nominal 95% interval is a claim about repeated sampling; the library's
tests check point values against scikit-learn but cannot check that claim.
The issue asks for bootstrap coverage to be measured here, in bench/, and
the other methods (Wilson, DeLong, normal, logit, delta) are measured the
same way, so every interval the service shows has a number behind it.

What: for each task a fixed population is simulated from a seeded numpy
Generator (``--population`` rows, default 2,000,000):

- binary: ``y ~ Bernoulli(0.3)``; a latent feature ``x | y ~ N(1.5 y, 1)``;
  the exact posterior logit is ``log(0.3/0.7) + 1.5 x - 1.125`` and the score
  is ``sigmoid(1.3 * logit + 0.2)``: a logistic model of the latent feature,
  in [0, 1], ranking as the true posterior does but somewhat overconfident
  and shifted (calibrated-ish: its calibration error is well above zero, see
  the table's true values);
- multiclass (3 classes): two latent features ``N(0, I)``, true logits
  ``W x + b``, ``y`` drawn from ``softmax(true logits)``; the model's
  probabilities are ``softmax(1.3 * true logits + [0.3, 0, -0.3])``;
- regression: three features ``N(0, I)``, ``y = 20 + x @ [2, -1, 0.5] + N(0, 1.5²)``
  (y stays far from 0, so MAPE has finite variance); the prediction is an
  imperfect linear fit ``19.8 + x @ [1.8, -1.1, 0.3]``.

The true value of each metric is that metric computed on the whole
population with the same argusml function (its ``value`` field; the
population call passes ``resamples=0``: only the value is needed). Then
``W`` windows of ``n`` rows are drawn from the population with replacement
(the population stands for the distribution; each window is an iid sample
of it), the metrics computed with ``seed=window index`` (the library's
defaults otherwise: threshold 0.5, 10 calibration bins, 500 resamples), and
a window covers when ``low <= true <= high``. A window whose interval is NaN
is excluded from the coverage and counted.

Reported per task, metric and n: coverage, its own Monte Carlo uncertainty
(a Wilson 95% interval over the windows), the misses on each side (true
below ``low`` / true above ``high``), the interval method and the mean
width. Flagged: coverage outside 93%–97%. Mind the Monte Carlo noise when
reading the flag: an interval whose coverage is exactly 95% reads between
93.6% and 96.4% in 95% of runs with 1,000 windows, but between 92.5% and
97.5% with 300.

Runtime: multiclass one-vs-rest ROC AUC is a row bootstrap (200 resamples
x 3 classes x 2 averages per window) and the macro/weighted averages loop
in Python over 500 resampled confusion matrices: ~0.25 s per window at
n = 200 and ~0.5 s at n = 2,000 on the 2-core box, so multiclass gets 300
windows by default (``--multiclass-windows``), which keeps the whole run
near 4 minutes. Binary and regression take a few milliseconds per window.
Coverage counts are deterministic given the seeds; timings are not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from argusml.stats.performance import Estimate, binary_metrics, multiclass_metrics, regression_metrics, wilson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchenv import machine

TASKS = ("binary", "multiclass", "regression")
CLASSES = ["a", "b", "c"]

Metrics = Callable[[np.ndarray, int, int], dict[str, Estimate]]  # (row indices, seed, resamples) -> estimates


@dataclass
class Population:
    task: str
    description: str
    metrics: Metrics  # computed on the population rows given
    rows: int
    truth: dict[str, float] = field(default_factory=dict)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def binary_population(rows: int, seed: int) -> Population:
    rng = np.random.default_rng([seed, 0])
    y = rng.random(rows) < 0.3
    x = rng.standard_normal(rows) + 1.5 * y
    logit = math.log(0.3 / 0.7) + 1.5 * x - 1.5 ** 2 / 2  # the exact posterior log-odds of y given x
    score = sigmoid(1.3 * logit + 0.2)

    def metrics(i: np.ndarray, s: int, resamples: int) -> dict[str, Estimate]:
        return binary_metrics(y[i], score[i], seed=s, resamples=resamples)

    return Population("binary", "y ~ Bernoulli(0.3), x|y ~ N(1.5y, 1), score = sigmoid(1.3 posterior logit + 0.2)",
                      metrics, rows)


def multiclass_population(rows: int, seed: int) -> Population:
    rng = np.random.default_rng([seed, 1])
    x = rng.standard_normal((rows, 2))
    w = np.array([[1.5, 0.0], [-0.75, 1.3], [-0.75, -1.3]])
    logits = x @ w.T + np.array([0.4, 0.0, -0.4])
    p_true = softmax(logits)
    u = rng.random(rows)[:, None]
    yi = np.minimum((u > np.cumsum(p_true, axis=1)).sum(axis=1), 2)  # inverse-CDF draw of each row's class
    y = np.array(CLASSES, dtype=object)[yi]
    proba = softmax(1.3 * logits + np.array([0.3, 0.0, -0.3]))

    def metrics(i: np.ndarray, s: int, resamples: int) -> dict[str, Estimate]:
        return multiclass_metrics(y[i], proba[i], CLASSES, seed=s, resamples=resamples)

    return Population("multiclass", "3 classes, logits = W x + b, x ~ N(0, I_2), y ~ softmax(logits), "
                      "proba = softmax(1.3 logits + [0.3, 0, -0.3])", metrics, rows)


def regression_population(rows: int, seed: int) -> Population:
    rng = np.random.default_rng([seed, 2])
    x = rng.standard_normal((rows, 3))
    y = 20.0 + x @ np.array([2.0, -1.0, 0.5]) + 1.5 * rng.standard_normal(rows)
    pred = 19.8 + x @ np.array([1.8, -1.1, 0.3])

    def metrics(i: np.ndarray, s: int, resamples: int) -> dict[str, Estimate]:
        return regression_metrics(y[i], pred[i], seed=s, resamples=resamples)

    return Population("regression",
                      "y = 20 + x·[2, -1, 0.5] + N(0, 1.5²), x ~ N(0, I_3), pred = 19.8 + x·[1.8, -1.1, 0.3]",
                      metrics, rows)


BUILDERS: dict[str, Callable[[int, int], Population]] = {
    "binary": binary_population, "multiclass": multiclass_population, "regression": regression_population}


@dataclass
class Tally:
    method: str = ""
    covered: int = 0
    below: int = 0  # true < low
    above: int = 0  # true > high
    nan: int = 0
    width_sum: float = 0.0

    @property
    def valid(self) -> int:
        return self.covered + self.below + self.above


def run_task(pop: Population, n: int, windows: int, seed: int, resamples: int) -> tuple[dict[str, Tally], float]:
    """Draw ``windows`` samples of ``n`` rows with replacement and count the intervals that hold the truth."""
    rng = np.random.default_rng([seed, TASKS.index(pop.task), n])
    tallies: dict[str, Tally] = {name: Tally() for name in pop.truth}
    t0 = time.perf_counter()
    for w in range(windows):
        est = pop.metrics(rng.integers(0, pop.rows, n), w, resamples)
        for name, e in est.items():
            t = tallies.setdefault(name, Tally())
            t.method = e.method
            if math.isnan(e.low) or math.isnan(e.high):
                t.nan += 1
                continue
            truth = pop.truth[name]
            if truth < e.low:
                t.below += 1
            elif truth > e.high:
                t.above += 1
            else:
                t.covered += 1
            t.width_sum += e.high - e.low
    return tallies, time.perf_counter() - t0


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(results: list[tuple[Population, int, int, dict[str, Tally], float]]) -> list[str]:
    lines = ["| task | metric | n | windows | true value | method | coverage | coverage 95% MC interval "
             "| true < low | true > high | mean width | NaN intervals | flag |",
             "|---|---|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---|"]
    for pop, n, windows, tallies, _ in results:
        for name, t in tallies.items():
            if t.valid:
                cov = t.covered / t.valid
                lo, hi = wilson(t.covered, t.valid)
                flag = "" if 0.93 <= cov <= 0.97 else ("**under**" if cov < 0.93 else "**over**")
                cells = [pct(cov), f"{pct(lo)}–{pct(hi)}", pct(t.below / t.valid), pct(t.above / t.valid),
                         f"{t.width_sum / t.valid:.4g}"]
            else:
                flag, cells = "no interval", ["–"] * 5
            lines.append(f"| {pop.task} | {name} | {n:,} | {windows:,} | {pop.truth[name]:.5g} | {t.method} | "
                         + " | ".join(cells) + f" | {t.nan} | {flag} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=1000, help="windows per (task, n) for binary and regression")
    ap.add_argument("--multiclass-windows", type=int, default=300,
                    help="windows per n for multiclass (its one-vs-rest AUC is a row bootstrap: slow)")
    ap.add_argument("--sizes", default="200,2000", help="comma-separated window sizes n")
    ap.add_argument("--population", type=int, default=2_000_000, help="rows of each simulated population")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--seed", type=int, default=20240601, help="seed of the populations and of the window draws")
    ap.add_argument("--resamples", type=int, default=500, help="bootstrap resamples passed to the metric functions")
    ap.add_argument("--out", default=None, help="also write the Markdown report here")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",") if s]
    tasks = [t for t in a.tasks.split(",") if t]
    for t in tasks:
        if t not in BUILDERS:
            ap.error(f"unknown task {t!r} (one of {', '.join(TASKS)})")
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    m = machine()  # before running: the code measured is the code at the start
    t0 = time.perf_counter()
    results = []
    populations = []
    for task in tasks:
        tp = time.perf_counter()
        pop = BUILDERS[task](a.population, a.seed)
        pop.truth = {k: e.value for k, e in pop.metrics(np.arange(pop.rows), 0, 0).items()}
        populations.append(pop)
        print(f"{task}: population of {pop.rows:,} rows and its true values in {time.perf_counter() - tp:.1f}s",
              file=sys.stderr, flush=True)
        windows = a.multiclass_windows if task == "multiclass" else a.windows
        for n in sizes:
            tallies, secs = run_task(pop, n, windows, a.seed, a.resamples)
            results.append((pop, n, windows, tallies, secs))
            print(f"{task} n={n:,}: {windows:,} windows in {secs:.1f}s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    body = table(results)
    print("\n".join(body))
    if a.out:
        flagged = [f"{pop.task} {name} n={n:,} ({pct(t.covered / t.valid)})" for pop, n, _, tallies, _ in results
                   for name, t in tallies.items() if t.valid and not 0.93 <= t.covered / t.valid <= 0.97]
        lines = [
            "# Coverage of the 95% intervals of argusml.stats.performance",
            "",
            f"- command: `python bench/bench_coverage.py {' '.join(sys.argv[1:])}`",
            f"- date: {started}",
            f"- machine: {m['nproc']} CPUs ({m['cpu']}; platform.processor() = {platform.processor() or '?'!r}), "
            f"os.cpu_count() = {os.cpu_count()}, Python {m['python']}, numpy {np.__version__}, "
            f"argusml {m['argus']}, git {m['git']}",
            f"- wall time: {elapsed:.1f}s (" + ", ".join(f"{pop.task} n={n:,}: {secs:.1f}s"
                                                         for pop, n, _, _, secs in results) + ")",
            f"- populations ({a.population:,} rows each, seed {a.seed}): "
            + "; ".join(f"{p.task}: {p.description}" for p in populations) + ".",
            "- true value = the metric on the whole population; each window = n rows drawn from it with replacement, "
            f"metrics with seed = window index and {a.resamples} resamples; covered = low <= true <= high; "
            "windows with a NaN interval are excluded from coverage and counted.",
            "- coverage 95% MC interval: Wilson interval of the coverage over the windows (Monte Carlo error of this "
            "benchmark, not of the library); flag: coverage outside 93%–97%.",
            "- flagged: " + ("; ".join(flagged) if flagged else "none") + ".",
            "",
            *body,
            "",
        ]
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write("\n".join(lines))
    print(f"elapsed: {elapsed:.1f}s")


if __name__ == "__main__":
    main()
