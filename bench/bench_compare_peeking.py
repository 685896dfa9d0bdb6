#!/usr/bin/env python
"""False champion/challenger verdicts when the verdict is read at every batch of labels.

    .venv/bin/python bench/bench_compare_peeking.py [--runs 1000] [--step 100] [--looks 80] [--seed 0]

Why: `GET /v1/models/{model}/compare` is read again and again as labels
arrive. A fixed-sample 95% interval read at every look finds a "difference"
between two identical versions far more often than 5% of the time. The
verdict (``argusml.checks.compare.decide``) therefore asks for p < 0.001
before the planned labels are in (Haybittle-Peto). This measures what that
buys.

What: two identical versions in shadow mode (the same ids, accuracy 0.8, the
versions disagree on 20% of the ids, half each way); labels arrive in
batches of ``--step``, the verdict is read after each batch up to ``--looks``
batches (the default 8,000 labels is past the 6,130 planned for the default
``min_difference`` of 2%), and a run stops at its first promote or roll back.
A "false better" is a promotion that says the challenger is better; a "false
roll back" is any roll back (a promotion as non-inferior is right: the
versions are equal). Both with the verdict as shipped and with the plain
interval at every look.
"""

from __future__ import annotations

import argparse

import numpy as np

import argusml.checks.compare as cc
from argusml.schema.model_config import CompareSettings
from argusml.stats import compare as sc


def false_verdicts(runs: int, step: int, looks: int, seed: int, interim_z: float) -> tuple[float, float]:
    settings = CompareSettings(metric="accuracy")
    rng = np.random.default_rng(seed)
    psi, p1 = 0.2, 0.8
    cells = [p1 - psi / 2, psi / 2, psi / 2, 1 - p1 - psi / 2]  # both right, champion only, challenger only, neither
    saved, cc.INTERIM_Z = cc.INTERIM_Z, interim_z
    better = rollback = 0
    try:
        for _ in range(runs):
            for k, c in enumerate(rng.multinomial(step, cells, size=looks).cumsum(axis=0)):
                n = step * (k + 1)
                v = cc.decide(sc.paired_proportion_counts(int(c[1]), int(c[2]), n, int(c[0] + c[1])), (n, n), settings)
                if v.decision == "rollback":
                    rollback += 1
                    break
                if v.decision == "promote":
                    better += v.reasons[0].startswith("the challenger is better")
                    break
    finally:
        cc.INTERIM_Z = saved
    return better / runs, rollback / runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--step", type=int, default=100)
    ap.add_argument("--looks", type=int, default=80)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    planned = sc.mcnemar_pairs_needed(0.2, 0.02 * 0.8)
    print(f"planned labels for min_difference 2% of accuracy 0.8: {planned:,}; looks every {a.step} labels up to "
          f"{a.step * a.looks:,}; {a.runs:,} runs of two identical versions")
    for name, z in (("as shipped (p < 0.001 before the planned labels)", cc.INTERIM_Z),
                    ("plain 95% interval at every look", 0.0)):
        better, rollback = false_verdicts(a.runs, a.step, a.looks, a.seed, z)
        print(f"{name}: false 'better' {better:.1%}, false roll back {rollback:.1%}")


if __name__ == "__main__":
    main()
