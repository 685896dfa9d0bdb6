"""Example data for `argus demo`: a credit-scoring model's training data and
a later month of production traffic with realistic problems planted.

Planted in the current month: income's upper tail stretched (a new premium
segment), a new acquisition channel, a utilization sentinel (-1 written by a
broken upstream join in 4% of rows), employment missing far more often, and
a shift in applicant age. Everything else is drawn from the same
distributions, so what Argus reports beyond these is a false alarm.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

PLANTED = {
    "income": "upper tail stretched (premium segment)",
    "channel": "new category 'partner_api' in 8% of rows",
    "utilization": "sentinel -1 in 4% of rows",
    "employment": "missing in 15% of rows (reference 2%)",
    "age": "mean +3 years",
}


def make_frame(rng: np.random.Generator, n: int, drift: bool, start_day: int) -> pa.Table:
    age = rng.normal(41.0 + (3.0 if drift else 0.0), 12.0, n).clip(18, 90).round()
    z = rng.standard_normal(n)
    if drift:
        z = np.where(z > 1.2, 1.2 + 1.6 * (z - 1.2), z)
    income = np.round(np.exp(10.6 + 0.55 * z), 2)
    utilization = rng.beta(2.0, 5.0, n).round(4)
    if drift:
        utilization = np.where(rng.random(n) < 0.04, -1.0, utilization)
    accounts = rng.poisson(4.0, n)
    regions = np.array(["north", "south", "east", "west", "central"], dtype=object)
    region = regions[rng.choice(5, n, p=[0.3, 0.25, 0.2, 0.15, 0.1])]
    channels = ["web", "branch", "mobile", "broker"]
    p = [0.45, 0.2, 0.3, 0.05]
    channel = np.array(channels, dtype=object)[rng.choice(4, n, p=p)]
    if drift:
        channel = np.where(rng.random(n) < 0.08, "partner_api", channel)
    employment = np.array(["salaried", "self_employed", "retired", "student"], dtype=object)[
        rng.choice(4, n, p=[0.6, 0.2, 0.12, 0.08])]
    emp_missing = rng.random(n) < (0.15 if drift else 0.02)
    employment = np.where(emp_missing, None, employment)
    day = start_day + rng.integers(0, 30, n)
    applied_at = (np.datetime64("2026-01-01") + day.astype("timedelta64[D]")).astype("datetime64[s]")
    logit = (-1.2 + 1.8 * utilization - 0.25 * (np.log(income) - 10.6) + 0.08 * (accounts - 4)
             - 0.01 * (age - 41) + (region == "south") * 0.3 + rng.normal(0, 0.4, n))
    score = 1.0 / (1.0 + np.exp(-logit))
    default = (rng.random(n) < score).astype(np.int64)
    ids = np.char.add("app-", (np.arange(n) + start_day * 100_000).astype(str))
    return pa.table({
        "application_id": pa.array(ids),
        "applied_at": pa.array(applied_at),
        "age": age,
        "income": income,
        "utilization": utilization,
        "open_accounts": accounts,
        "region": pa.array(region, pa.string()),
        "channel": pa.array(channel, pa.string()),
        "employment": pa.array(employment, pa.string()),
        "score": score.round(5),
        "defaulted": default,
    })


def make_demo(n_reference: int = 50_000, n_current: int = 20_000, seed: int = 7) -> tuple[pa.Table, pa.Table]:
    ref_seq, cur_seq = np.random.SeedSequence(seed).spawn(2)
    ref = make_frame(np.random.default_rng(ref_seq), n_reference, drift=False, start_day=0)
    cur = make_frame(np.random.default_rng(cur_seq), n_current, drift=True, start_day=60)
    return ref, cur
