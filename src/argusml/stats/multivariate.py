"""Two tests of a change in the joint distribution of the features.

Univariate tests compare one column at a time, so a change that keeps every
marginal but breaks how features move together (a sensor swapped with its
neighbour, a join that pairs rows wrongly, a pipeline that shuffles one
column) passes all of them. Two complementary tests look at rows instead:

* **PCA reconstruction error.** Principal components fitted on the reference
  keep the directions the data spans; a row whose features no longer
  co-vary as they did leaves that subspace, and its reconstruction error
  rises. The per-row error is a bounded number (the features are normal
  scores, see ``profile/multivariate.py``), so the mean over a window has a
  normal sampling distribution at any realistic N and the comparison with
  the reference's held-out errors is a Welch z test. Its sums add, so it is
  exact over every row of every window, and mergeable.
* **Domain classifier.** A classifier learns to tell reference rows from
  current rows on one half of each sample and is scored on the other half.
  If nothing changed, its held-out scores are exchangeable between the two
  samples, so the AUC has exactly the Mann-Whitney null distribution: the
  threshold is analytic and needs no permutations. The classifier is a
  ridge-penalised logistic regression on the features, their squares and
  pairwise products: it sees changes of means, spreads and pairwise
  dependence (everything a Gaussian discriminant would), not arbitrary
  higher-order structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

QUADRATIC_BASIS = 20
"""Pairwise products are formed of at most this many directions (the leading
principal components when there are more features): 210 products, so the
classifier stays well-posed on a few thousand rows."""

MIN_TEST_ROWS = 100
"""Held-out rows each side needs before the classifier's AUC is judged."""


@dataclass
class PCA:
    """The reference's kept principal components: what a row's structure is compared with.

    Rows on the diagonal (-1, -1), (0, 0), (1, 1) have all their variance along it, so one component
    explains all of it; a row (1, -1) lies wholly outside and errs by (1² + 1²) / 2 = 1 per feature,
    while (2, 2) reconstructs exactly.

    >>> pca = fit_pca(np.array([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]))
    >>> pca.components.shape, pca.total_explained
    ((1, 2), 1.0)
    >>> pca.residual_error(np.array([[1.0, -1.0], [2.0, 2.0]])).round(6).tolist()
    [1.0, 0.0]
    """

    mean: np.ndarray  # (p,)
    components: np.ndarray  # (k, p), orthonormal rows
    explained: np.ndarray  # share of variance of each kept component
    total_explained: float

    def residuals(self, z: np.ndarray) -> np.ndarray:
        """Each row's part outside the kept components, per feature: where a broken structure shows."""
        c = z - self.mean
        return c - (c @ self.components.T) @ self.components

    def residual_error(self, z: np.ndarray) -> np.ndarray:
        """Mean squared reconstruction error per row (per feature, so comparable across widths)."""
        r = self.residuals(z)
        return np.einsum("ij,ij->i", r, r) / z.shape[1]


def fit_pca(z: np.ndarray, explained: float = 0.65) -> PCA:
    """The fewest leading components that explain ``explained`` of the variance.

    0.65 leaves room below: with correlated features most of the variance
    sits in a few directions, and a row that breaks the correlation puts
    variance into the discarded ones. Kept components never include all of
    them (at most p - 1), or the error would be identically zero."""
    mean, vt, share = principal_axes(z)
    k = int(np.searchsorted(np.cumsum(share), explained) + 1)
    k = max(1, min(k, z.shape[1] - 1))
    return PCA(mean, vt[:k].copy(), share[:k].copy(), float(share[:k].sum()))


def principal_axes(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, principal directions (rows, by falling variance) and their shares of the variance.

    From the p x p covariance by ``eigh``, not an SVD of the n x p rows: the
    same axes for n >> p at a fraction of the cost (docs/BENCHMARKS.md, "Figures behind the code")."""
    mean = z.mean(axis=0)
    c = z - mean
    var, vec = np.linalg.eigh(c.T @ c)
    order = np.argsort(var)[::-1]
    var, vt = np.maximum(var[order], 0.0), vec[:, order].T
    total = var.sum()
    return mean, vt, var / total if total > 0 else np.zeros_like(var)


@dataclass
class ErrorTest:
    """Whether the current rows reconstruct worse than the reference's held-out rows.

    Mean errors 1.0 and 1.2 over 100 rows each, both with variance 0.25: the Welch z is
    0.2 / sqrt(0.25/100 + 0.25/100) = 2.8284 and the one-sided p-value ``scipy.stats.norm.sf(2.8284)``
    = 0.00234.

    >>> t = error_increase(100, 1.0, 0.25, 100, cur_sum=120.0, cur_sum2=168.75)
    >>> round(t.current_mean, 4), round(t.relative_increase, 4), round(t.z, 4), round(t.p_value, 5)
    (1.2, 0.2, 2.8284, 0.00234)
    """

    reference_mean: float
    current_mean: float
    relative_increase: float
    z: float
    p_value: float


def error_increase(ref_n: int, ref_mean: float, ref_var: float, cur_n: int, cur_sum: float, cur_sum2: float
                   ) -> ErrorTest:
    """One-sided Welch z test that the current mean error exceeds the reference's.

    Only an increase is a change of structure: rows collapsing onto the
    reference's main directions lower the error, which the univariate
    checks (spread, constant columns) report in their own terms."""
    mean = cur_sum / cur_n
    var = max(cur_sum2 / cur_n - mean * mean, 0.0) * cur_n / max(cur_n - 1, 1)
    se = np.sqrt(ref_var / ref_n + var / cur_n)
    z = (mean - ref_mean) / se if se > 0 else (np.inf if mean > ref_mean else 0.0)
    rel = mean / ref_mean - 1.0 if ref_mean > 0 else (np.inf if mean > 0 else 0.0)
    return ErrorTest(float(ref_mean), float(mean), float(rel), float(z), float(sps.norm.sf(z)))


@dataclass
class ClassifierTest:
    """How well a classifier tells current rows from reference rows, on rows it did not train on.

    400 rows a side are halved into 200 to train and 200 to test; two features give the classifier
    2 + 3 inputs (the features, their squares and their product). A mean shift of one standard deviation
    is told apart far better than chance; two samples of one distribution stay near AUC 0.5.

    >>> rng = np.random.default_rng(0)
    >>> t = domain_classifier(rng.normal(size=(400, 2)), rng.normal(1.0, 1.0, size=(400, 2)))
    >>> t.n_train, t.n_test, t.features, t.auc > 0.8, t.p_value < 1e-10
    ((200, 200), (200, 200), 5, True, True)
    >>> same = domain_classifier(rng.normal(size=(400, 2)), rng.normal(size=(400, 2)))
    >>> round(same.auc, 2), same.p_value > 0.05
    (0.5, True)
    """

    auc: float
    p_value: float
    n_train: tuple[int, int]  # (reference, current)
    n_test: tuple[int, int]
    features: int


def _quadratic(z: np.ndarray, basis: np.ndarray | None) -> np.ndarray:
    """The features, then squares and pairwise products of at most QUADRATIC_BASIS directions."""
    s = z if basis is None else z @ basis.T
    s = s[:, :QUADRATIC_BASIS]
    iu = np.triu_indices(s.shape[1])
    return np.hstack([z, s[:, iu[0]] * s[:, iu[1]]])


def _logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, tol: float = 1e-10,
              max_iter: int = 50) -> np.ndarray:
    """Weighted ridge logistic regression (intercept unpenalised), by Newton's method.

    The ridge makes the loss strongly convex, so Newton steps (with step halving while the loss does
    not fall) reach the one minimum in a handful of iterations; each costs one p x p Hessian, which at a
    few hundred features and a thousand rows is cheaper than the many small steps L-BFGS needed
    (docs/BENCHMARKS.md, "Figures behind the code").
    """
    n, p = x.shape
    xa = np.hstack([np.ones((n, 1)), x])
    sw = w / w.sum()
    pen = np.full(p + 1, l2)
    pen[0] = 0.0

    def loss(beta: np.ndarray) -> float:
        # log(1 + exp(-y m)) with y in {-1, +1}, stably
        return float(sw @ np.logaddexp(0.0, -y * (xa @ beta)) + 0.5 * pen @ (beta * beta))

    beta = np.zeros(p + 1)
    current = loss(beta)
    for _ in range(max_iter):
        m = xa @ beta
        q = sps.logistic.cdf(-y * m)  # 1 - P(y | x)
        grad = xa.T @ (sw * -y * q) + pen * beta
        hess = (xa * (sw * q * (1.0 - q))[:, None]).T @ xa + np.diag(pen)
        step = np.linalg.solve(hess + 1e-12 * np.eye(p + 1), grad)
        t = 1.0
        while True:
            candidate = beta - t * step
            value = loss(candidate)
            if value <= current or t < 1e-8:
                break
            t *= 0.5
        done = current - value <= tol * max(1.0, abs(current))
        beta, current = candidate, value
        if done:
            break
    return beta


def domain_classifier(ref: np.ndarray, cur: np.ndarray, *, basis: np.ndarray | None = None, l2: float = 0.01,
                      seed: int = 0) -> ClassifierTest | None:
    """Train on half of each sample, test on the other half; None when a side has too few rows.

    The split is random (seeded) within each sample, so the held-out rows are
    an independent draw from each side. The two sides are weighted equally
    in training, whatever their sizes; the AUC does not depend on the ratio."""
    rng = np.random.default_rng([seed, 0x636C6173])  # salted: see profile/multivariate.py SALT
    halves = []
    for a in (ref, cur):
        idx = rng.permutation(a.shape[0])
        cut = a.shape[0] // 2
        halves.append((a[idx[:cut]], a[idx[cut:]]))
    (r_tr, r_te), (c_tr, c_te) = halves
    if min(r_te.shape[0], c_te.shape[0]) < MIN_TEST_ROWS:
        return None
    x_tr = _quadratic(np.vstack([r_tr, c_tr]), basis)
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    sd[sd <= 1e-12] = 1.0
    x_tr = (x_tr - mu) / sd
    y = np.concatenate([-np.ones(r_tr.shape[0]), np.ones(c_tr.shape[0])])
    w = np.concatenate([np.full(r_tr.shape[0], 0.5 / r_tr.shape[0]), np.full(c_tr.shape[0], 0.5 / c_tr.shape[0])])
    beta = _logistic(x_tr, y, w, l2)

    def score(a: np.ndarray) -> np.ndarray:
        return beta[0] + ((_quadratic(a, basis) - mu) / sd) @ beta[1:]

    s_r, s_c = score(r_te), score(c_te)
    u = sps.mannwhitneyu(s_c, s_r, alternative="greater", method="asymptotic")
    auc = float(u.statistic) / (s_c.size * s_r.size)
    return ClassifierTest(auc, float(u.pvalue), (r_tr.shape[0], c_tr.shape[0]), (r_te.shape[0], c_te.shape[0]),
                          x_tr.shape[1])


def bottom_k(keys: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest keys, in key order: a uniform sample without
    replacement when keys are i.i.d. uniform, and the k smallest of a union
    are the k smallest of the parts' k smallest, so samples merge exactly."""
    if keys.size <= k:
        return np.argsort(keys, kind="stable")
    idx = np.argpartition(keys, k - 1)[:k]
    return idx[np.argsort(keys[idx], kind="stable")]
