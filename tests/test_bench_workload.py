"""The repository's benchmark generator reproduces the spec's values."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "anchors" / "make_data.py"
sys.path.insert(0, str(ROOT / "bench"))

import workload  # noqa: E402


def _spec_module():
    if not SPEC.exists():
        pytest.skip(f"the spec {SPEC} is not beside this checkout")
    mod_spec = importlib.util.spec_from_file_location("anchors_make_data", SPEC)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("n", [1, 1000, 25_000])
def test_same_values_as_the_spec(n: int) -> None:
    import numpy as np

    spec = _spec_module()
    ref_seq, cur_seq = np.random.SeedSequence(spec.SEED).spawn(2)
    want_ref = spec.make_frame(np.random.default_rng(ref_seq), n, drift=False)
    want_cur = spec.make_frame(np.random.default_rng(cur_seq), n, drift=True)
    got_ref, got_cur = workload.make_pair(n, seed=spec.SEED)
    pd.testing.assert_frame_equal(got_ref, want_ref)
    pd.testing.assert_frame_equal(got_cur, want_cur)
    assert workload.DRIFTS == spec.DRIFTS


def test_clean_pair_has_no_planted_values() -> None:
    _, cur = workload.make_pair(20_000, seed=3, clean=True)
    assert (cur["int_0"] >= 18).all()
    assert "cat_10_NEW" not in set(cur["cat_10"])


def test_only_plants_one_drift() -> None:
    _, cur = workload.make_pair(20_000, seed=1, only="int_0", sizes={"sentinel_share": 0.1})
    assert 0.09 < (cur["int_0"] == -999).mean() < 0.11
    assert "cat_10_NEW" not in set(cur["cat_10"])
    assert abs(cur["norm_1"].mean() - 50) < 0.5
