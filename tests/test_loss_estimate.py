"""Regression without labels: the reference's error binned on the prediction estimates a window's MAE and
RMSE; under covariate shift its intervals hold the realised values as often as they claim."""

from __future__ import annotations

import numpy as np
import pytest

from argusml.stats.loss_estimate import LossModel
from argusml.stats.performance import regression_metrics


def _rows(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(shift, 1.0, n)
    pred = 2 * x
    y = pred + rng.normal(0, 0.5 + np.abs(x), n)  # the model errs more where |x| is large
    return y, pred


def test_bins_hold_the_reference_errors_by_hand():
    y = np.array([0.0, 0.0, 0.0, 0.0])
    pred = np.array([1.0, 3.0, 10.0, 14.0])
    lm = LossModel.fit(y, pred, bins=2, min_rows=2)
    assert lm.edges == (6.5,)
    assert lm.abs_mean == (2.0, 12.0) and lm.sq_mean == (5.0, 148.0)
    assert lm.abs_var == (2.0, 8.0)  # sample variances of (1, 3) and (10, 14)
    est = lm.estimate(np.array([0.0, 20.0, 20.0, 20.0]))
    assert est["mae"].value == pytest.approx((2 + 3 * 12) / 4)
    assert est["rmse"].value == pytest.approx(np.sqrt((5 + 3 * 148) / 4))
    assert LossModel.from_dict(lm.to_dict()) == lm


def test_estimates_follow_a_shift_into_worse_regions_and_cover_the_realised_error():
    rng = np.random.default_rng(8)
    lm = LossModel.fit(*_rows(rng, 50_000, 0.0))
    cover = {"mae": 0, "rmse": 0}
    for w in range(1000):
        y, pred = _rows(rng, 800, -0.7 + 1.4 * (w % 8) / 7)
        est = lm.estimate(pred)
        real = regression_metrics(y, pred)
        for k in cover:
            cover[k] += est[k].low <= real[k].value <= est[k].high
    # measured: MAE 935, RMSE 931 of 1,000 (40 bins). The bins pool rows whose error spread differs, and a
    # window's mix within a bin moves with the shift: at the low edge of 95%, so the band here is 92-97%
    for k, c in cover.items():
        assert 920 <= c <= 970, (k, c)
    centred, shifted = lm.estimate(_rows(rng, 5000, 0.0)[1]), lm.estimate(_rows(rng, 5000, 1.0)[1])
    assert shifted["mae"].value > centred["mae"].value * 1.2  # inputs moved where the model errs more
