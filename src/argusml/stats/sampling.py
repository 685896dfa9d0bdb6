"""Choosing predictions for human review, and estimating from what came back.

Labels that arrive on their own are rarely a fair sample: fraud gets
labelled when it is caught, churn when the customer leaves. A reviewed
sample whose selection probabilities are known fixes that, and the model's
own uncertainty says where reviews are worth most: a prediction scored
0.51 is far more likely to be wrong than one scored 0.99.

**The design: stratified simple random sampling without replacement.**

- The population is every prediction in the window. Each unit carries an
  *uncertainty* in [0, 1]: the model's own probability of being wrong
  (``1 - max(p, 1 - p)`` at threshold 0.5 for a binary score, one minus
  the top class's probability for multiclass), or NaN where the model gave
  no probability (predicted labels, regression).
- Units with an uncertainty are cut into ``strata`` equal-count strata by
  its rank (stratum 0 the most certain); units without one form one more
  stratum of their own. The strata are a function of the population only,
  fixed before anything is drawn.
- The sample size ``n`` is split across strata as a mix of two allocations:
  ``random_share * n`` in proportion to the stratum sizes (what a simple
  random sample would give each stratum on average), the rest by Neyman
  allocation on the expected spread of correctness, ``N_h * sqrt(u_h (1 -
  u_h))`` with ``u_h`` the stratum's mean uncertainty (a stratum without
  scores is taken at the maximal spread, 0.5). Neyman allocation minimises
  the variance of the estimated accuracy if the scores are calibrated;
  the proportional share keeps every stratum sampled in fair measure when
  they are not (which is one reason to review at all). Every stratum gets
  at least two units (so its variance can be estimated) and at most all of
  its units; integer sizes come from largest remainders.
- Within stratum ``h`` a simple random sample of ``n_h`` of its ``N_h``
  units is drawn, so every unit of the stratum has the inclusion
  probability ``pi = n_h / N_h`` exactly, and the ``pi`` of all units sum
  to ``n``. The mix lives in the allocation, not in two overlapping draws,
  which is what keeps every ``pi`` exact and the variance estimator simple.
  The draw is seeded: the same population, size and seed give the same
  sample.

**The estimator** of the population mean of a per-unit quantity (1 for a
correct prediction, 0 for a wrong one: accuracy; or an absolute error:
MAE) is the Horvitz-Thompson estimator ``sum(y_i / pi_i) / N``, which for
this design is ``sum_h N_h ybar_h / N``. It is unbiased. Its variance is
estimated by ``sum_h (N_h / N)^2 (1 - n_h / N_h) s_h^2 / n_h``, with the
finite population correction (Cochran 1977, ch. 5).

**Reviews that never came back** (the reviewer skipped a row, the file
lost it) are treated as nonresponse that is missing at random within the
stratum: a stratum's ``m_h`` responders are then a simple random sample of
it, its weight ``N_h`` is spread over them (``N_h / m_h`` each), and the
formulas above hold with ``m_h`` for ``n_h``. The response rate is reported
per stratum and overall. A stratum with fewer than two responders (and not
all of its units reviewed) has no variance estimate: it is pooled with its
neighbour in uncertainty, whose responders then stand for both (weights
``1/pi`` scaled to the pooled population, the with-replacement variance of
the pooled group with its finite population correction), and the
estimate names the pooled strata. If the reviewer skipped rows *because*
they were hard, no weighting can tell; a low response rate in the
uncertain strata is the warning sign.

**The interval.** For a 0/1 quantity, Wilson's score interval at the
design's effective sample size ``p (1 - p) / v`` (Kish's design effect;
Korn & Graubard 1998): it stays inside [0, 1] and keeps its coverage when
accuracy is near 1, where a normal interval does not. Where the estimated
variance is 0 (every reviewed unit right, or each stratum unanimous) the
responders over the finite population correction stand in for the
effective size, so the interval still has a width. Korn & Graubard also
cap the effective size at the responders; that would give away what
stratifying gained, and the simulations cover without it. For other
quantities, the t interval with Satterthwaite's degrees of freedom. Both
are checked by simulation in tests/test_sampling.py (93-97% coverage).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as sps

MIN_PER_STRATUM = 2
"""Units drawn from every stratum (when it has them): one fewer and its variance cannot be estimated."""
UNSCORED_SPREAD = 0.5
"""Expected spread of correctness taken for units without an uncertainty: a Bernoulli's largest."""


@dataclass(frozen=True)
class Stratum:
    """One stratum of a review design: who is in it and how many of them are drawn.

    >>> s = Stratum(0, population=60, sampled=3, uncertainty_low=0.0, uncertainty_high=0.1, mean_uncertainty=0.05)
    >>> s.inclusion_probability, Stratum.from_dict(s.to_dict()) == s
    (0.05, True)
    """

    index: int
    population: int  # N_h
    sampled: int  # n_h
    uncertainty_low: float | None  # the stratum's range of uncertainty; None: units without one
    uncertainty_high: float | None
    mean_uncertainty: float | None

    @property
    def inclusion_probability(self) -> float:
        return self.sampled / self.population if self.population else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"stratum": self.index, "population": self.population, "sampled": self.sampled,
                "inclusion_probability": self.inclusion_probability, "uncertainty_low": self.uncertainty_low,
                "uncertainty_high": self.uncertainty_high, "mean_uncertainty": self.mean_uncertainty}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Stratum:
        return cls(int(d["stratum"]), int(d["population"]), int(d["sampled"]), d.get("uncertainty_low"),
                   d.get("uncertainty_high"), d.get("mean_uncertainty"))


@dataclass(frozen=True)
class Design:
    """A review design before the draw: the stratum of every unit of the population and the sizes.

    Eight units cut into two strata by uncertainty: the four most certain (0.01, 0.02, 0.05, 0.2, at
    positions 0, 1, 4, 7) form stratum 0. Four reviews split 2 + 2, so every unit has pi = 2/4, and the
    pi sum to the sample size.

    >>> d = plan_design([0.01, 0.02, 0.3, 0.45, 0.05, 0.4, 0.48, 0.2], 4, strata=2)
    >>> d.unit_stratum.tolist(), d.population
    ([0, 0, 1, 1, 0, 1, 1, 0], 8)
    >>> d.inclusion_probabilities.tolist(), float(d.inclusion_probabilities.sum())
    ([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 4.0)
    """

    unit_stratum: np.ndarray  # int16, one per population unit
    strata: tuple[Stratum, ...]
    size: int
    random_share: float

    @property
    def population(self) -> int:
        return int(self.unit_stratum.size)

    @property
    def inclusion_probabilities(self) -> np.ndarray:
        """``pi`` of every unit of the population (they sum to the sample size)."""
        pi = np.array([s.inclusion_probability for s in self.strata], dtype=np.float64)
        return pi[self.unit_stratum] if self.unit_stratum.size else np.zeros(0)


@dataclass(frozen=True)
class ReviewSample:
    """The drawn units: positions in the population (ascending), their strata and inclusion probabilities.

    The design of ``Design``'s example, drawn: two units from each stratum, each with pi = 0.5.

    >>> s = draw(plan_design([0.01, 0.02, 0.3, 0.45, 0.05, 0.4, 0.48, 0.2], 4, strata=2), seed=1)
    >>> [int((s.stratum == h).sum()) for h in (0, 1)], s.inclusion.tolist()
    ([2, 2], [0.5, 0.5, 0.5, 0.5])
    >>> s.to_dict()["population"], s.to_dict()["size"]
    (8, 4)
    """

    positions: np.ndarray
    stratum: np.ndarray
    inclusion: np.ndarray
    design: Design
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """The design as a client needs it to estimate later (without the units)."""
        return {"method": "stratified_srswor", "population": self.design.population, "size": int(self.positions.size),
                "random_share": self.design.random_share, "seed": self.seed,
                "strata": [s.to_dict() for s in self.design.strata]}


def _check_share(random_share: float) -> None:
    if not (0.0 <= random_share <= 1.0) or math.isnan(random_share):
        raise ValueError(f"random_share must be in [0, 1], got {random_share}")


def plan_design(uncertainty: Sequence[float] | np.ndarray, size: int, *, strata: int = 5,
                random_share: float = 0.3) -> Design:
    """Strata and per-stratum sample sizes for a population with these uncertainties (NaN: none known).

    Fewer strata than asked are used when the sample cannot give each of them two units."""
    u = np.asarray(uncertainty, dtype=np.float64)
    if u.ndim != 1:
        raise ValueError("uncertainty must be one-dimensional")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if not 1 <= strata <= 1000:
        raise ValueError(f"strata must be between 1 and 1000, got {strata}")
    _check_share(random_share)
    if bool(np.any((u < 0.0) | (u > 1.0))):
        raise ValueError("uncertainty must be in [0, 1] (NaN: not known)")
    n_pop = u.size
    # one stable sort ranks the known uncertainties and puts the NaNs last (ties: population order, so the
    # strata are deterministic); no index arrays of the known and unknown: windows hold millions of units
    order = np.argsort(u, kind="stable")
    n_known = n_pop - int(np.count_nonzero(np.isnan(u)))
    n = min(size, n_pop)
    h_known = min(strata, n_known)
    with_unknown = n_known < n_pop
    # each stratum needs MIN_PER_STRATUM units: fewer strata rather than strata nobody is drawn from
    while h_known + with_unknown > 1 and n < MIN_PER_STRATUM * (h_known + with_unknown) and n < n_pop:
        if h_known > 1:
            h_known -= 1
        else:
            with_unknown = False  # the unscored join the scored in one stratum
    unit_stratum = np.zeros(n_pop, dtype=np.int16)  # 2 bytes a unit
    groups: list[np.ndarray] = list(np.array_split(order[:n_known], h_known)) if h_known else []
    if n_known < n_pop:
        if with_unknown or not groups:
            groups.append(order[n_known:])
        else:
            groups[0] = np.concatenate([groups[0], order[n_known:]])
    infos: list[tuple[int, float | None, float | None, float | None]] = []
    for h, g in enumerate(groups):
        unit_stratum[g] = h
        gu = u[g]
        gu = gu[~np.isnan(gu)]
        if gu.size:
            infos.append((g.size, float(gu.min()), float(gu.max()), float(gu.mean())))
        else:
            infos.append((g.size, None, None, None))
    pop = np.array([i[0] for i in infos], dtype=np.float64)
    spread = np.array([UNSCORED_SPREAD if i[3] is None else math.sqrt(i[3] * (1 - i[3])) for i in infos])
    sizes = allocate(pop.astype(np.int64), spread, n, random_share)
    strata_out = tuple(Stratum(h, int(pop[h]), int(sizes[h]), lo, hi, mean)
                       for h, (_, lo, hi, mean) in enumerate(infos))
    return Design(unit_stratum, strata_out, n, random_share)


def allocate(population: np.ndarray, spread: np.ndarray, size: int, random_share: float) -> np.ndarray:
    """Integer sample sizes per stratum: ``random_share`` proportional to ``population``, the rest Neyman
    (``population * spread``), each between ``min(2, N_h)`` and ``N_h``, summing to ``size`` (capped at the
    population). Water-filling puts the sizes that hit a bound there and re-spreads the rest; largest
    remainders (ties: the lower stratum) make them integers."""
    pop = np.asarray(population, dtype=np.int64)
    total = int(pop.sum())
    n = min(int(size), total)
    if n == total:
        return pop.copy()
    lo = np.minimum(pop, MIN_PER_STRATUM).astype(np.float64)
    if n < lo.sum():  # too small to give every stratum its minimum (plan_design avoids it): one each, in order
        lo = np.zeros(pop.size)
    hi = pop.astype(np.float64)
    neyman = pop * np.asarray(spread, dtype=np.float64)
    prop = pop / total
    target = random_share * prop + (1 - random_share) * (neyman / neyman.sum() if neyman.sum() > 0 else prop)
    target = np.where(target > 0, target, 0.0)
    alloc = np.zeros(pop.size)
    fixed = np.zeros(pop.size, dtype=bool)
    for _ in range(pop.size + 1):
        free = ~fixed
        left = n - alloc[fixed].sum()
        t = target[free]
        alloc[free] = t * left / t.sum() if t.sum() > 0 else hi[free] * left / hi[free].sum()
        low, high = free & (alloc < lo), free & (alloc > hi)
        if not (low.any() or high.any()):
            break
        # the bound that is violated by more is binding for sure; fix that side only, then re-spread
        if (lo - alloc)[low].sum() >= (alloc - hi)[high].sum():
            alloc[low], fixed[low] = lo[low], True
        else:
            alloc[high], fixed[high] = hi[high], True
    out = np.minimum(np.floor(alloc + 1e-9), hi).astype(np.int64)
    out = np.maximum(out, lo.astype(np.int64))
    frac = alloc - out
    while out.sum() < n:
        room = out < pop
        k = int(np.flatnonzero(room)[np.argmax(np.where(room, frac, -np.inf)[room])])
        out[k] += 1
        frac[k] = -1.0
    while out.sum() > n:  # only when the minimums alone exceed n
        k = int(np.argmax(np.where(out > 0, out, -1)))
        out[k] -= 1
    return out


def draw(design: Design, seed: int = 0) -> ReviewSample:
    """A simple random sample without replacement of ``n_h`` units in each stratum (seeded)."""
    rng = np.random.default_rng(seed)
    picked: list[np.ndarray] = []
    for s in design.strata:
        members = np.flatnonzero(design.unit_stratum == s.index)  # ascending: the draw depends on the seed only
        if s.sampled >= members.size:
            picked.append(members)
        elif s.sampled:
            picked.append(rng.choice(members, size=s.sampled, replace=False))
    positions = np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
    stratum = design.unit_stratum[positions].astype(np.int64)
    pi = np.array([s.inclusion_probability for s in design.strata], dtype=np.float64)
    return ReviewSample(positions.astype(np.int64), stratum, pi[stratum] if stratum.size else np.zeros(0), design,
                        seed)


def review_sample(uncertainty: Sequence[float] | np.ndarray, size: int, *, strata: int = 5,
                  random_share: float = 0.3, seed: int = 0) -> ReviewSample:
    """Plan the design for this population and draw from it (see the module's docstring).

    >>> s = review_sample([0.01, 0.02, 0.3, 0.45, 0.05, 0.4, 0.48, 0.2], 4, strata=2, seed=1)
    >>> [(st.population, st.sampled) for st in s.design.strata]
    [(4, 2), (4, 2)]
    >>> s.inclusion.tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    return draw(plan_design(uncertainty, size, strata=strata, random_share=random_share), seed)


def binary_uncertainty(score: np.ndarray, threshold: float = 0.5, probability: np.ndarray | None = None
                       ) -> np.ndarray:
    """The model's own probability of being wrong: the decision is ``score >= threshold``, so a positive
    call is wrong with probability ``1 - p`` and a negative one with ``p``, where ``p`` is the positive
    class's probability: ``probability`` (a calibrated score) when given, else the score itself. Where
    ``p`` is outside [0, 1] (a margin) or missing, the result is NaN: no probability is known."""
    s = np.asarray(score, dtype=np.float64)
    p = s if probability is None else np.asarray(probability, dtype=np.float64)
    out = np.where(s >= threshold, 1.0 - p, p)
    return np.where((p >= 0.0) & (p <= 1.0) & ~np.isnan(s), out, np.nan)


def top_class_uncertainty(top_probability: np.ndarray) -> np.ndarray:
    """Multiclass: one minus the predicted (most probable) class's probability; NaN where none was sent."""
    q = np.asarray(top_probability, dtype=np.float64)
    return np.where((q >= 0.0) & (q <= 1.0), 1.0 - q, np.nan)


# -- estimation ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StratumEstimate:
    """What one stratum contributed: its mean over the responders and their number.

    >>> e = estimate_mean([1, 1, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1], [Stratum(0, 60, 3, 0.0, 0.1, 0.05),
    ...                                                          Stratum(1, 40, 3, 0.1, 0.5, 0.3)])
    >>> [(s.stratum, s.responded, round(s.mean, 4)) for s in e.strata]
    [(0, 3, 0.6667), (1, 3, 0.3333)]
    """

    stratum: int
    population: int
    sampled: int
    responded: int
    mean: float | None
    pooled_with: int | None = None  # the stratum whose group it was estimated in, when pooled

    def to_dict(self) -> dict[str, Any]:
        return {"stratum": self.stratum, "population": self.population, "sampled": self.sampled,
                "responded": self.responded, "response_rate": self.responded / self.sampled if self.sampled else None,
                "mean": self.mean, "pooled_with": self.pooled_with}


@dataclass(frozen=True)
class MeanEstimate:
    """The estimated population mean, its standard error and interval, and how much of the sample answered.

    Strata of 60 and 40 units, three reviewed in each, right 2 of 3 and 1 of 3: the estimate is
    (60 * 2/3 + 40 * 1/3) / 100 = 0.5333; its variance is
    0.6² (1 - 3/60) (1/3) / 3 + 0.4² (1 - 3/40) (1/3) / 3 = 0.05444, so se = 0.2333, and Wilson's
    interval runs at the effective size 0.5333 * 0.4667 / 0.05444 = 4.571.

    >>> e = estimate_mean([1, 1, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1], [Stratum(0, 60, 3, 0.0, 0.1, 0.05),
    ...                                                          Stratum(1, 40, 3, 0.1, 0.5, 0.3)])
    >>> round(e.value, 4), round(e.se, 4), round(e.effective_n, 3), e.interval, e.response_rate
    (0.5333, 0.2333, 4.571, 'wilson_effective_n', 1.0)
    """

    value: float
    low: float
    high: float
    se: float
    level: float
    interval: str  # wilson_effective_n | t_satterthwaite
    df: float
    effective_n: float
    population: int
    sampled: int
    responded: int
    strata: tuple[StratumEstimate, ...] = field(default=())
    method: str = "horvitz_thompson_stratified"

    @property
    def response_rate(self) -> float:
        return self.responded / self.sampled if self.sampled else 0.0

    def to_dict(self) -> dict[str, Any]:
        def fin(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {"value": self.value, "low": self.low, "high": self.high, "se": self.se, "level": self.level,
                "method": self.method, "interval": self.interval, "df": fin(self.df),
                "effective_n": fin(self.effective_n), "population": self.population, "sampled": self.sampled,
                "responded": self.responded, "response_rate": self.response_rate,
                "strata": [s.to_dict() for s in self.strata]}


def estimate_mean(values: Sequence[float] | np.ndarray, stratum: Sequence[int] | np.ndarray,
                  strata: Sequence[Stratum] | Sequence[Mapping[str, Any]], *, level: float = 0.95,
                  binary: bool | None = None) -> MeanEstimate:
    """The population mean of a per-unit quantity from a reviewed stratified sample.

    ``values[i]`` is unit i's quantity (NaN: its review did not come back), ``stratum[i]`` its stratum, and
    ``strata`` the design (population ``N_h`` and designed sample size ``n_h`` of each). Units of the design
    missing from ``values`` count as nonresponse too. ``binary``: use Wilson's interval (default: when every
    value is 0 or 1). Raises ValueError when fewer than two units were reviewed."""
    y = np.asarray(values, dtype=np.float64)
    h_of = np.asarray(stratum, dtype=np.int64)
    if y.shape != h_of.shape or y.ndim != 1:
        raise ValueError("values and stratum must be one-dimensional and of the same length")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    design = [s if isinstance(s, Stratum) else Stratum.from_dict(s) for s in strata]
    index = {s.index: k for k, s in enumerate(design)}
    unknown = set(np.unique(h_of).tolist()) - set(index)
    if unknown:
        raise ValueError(f"stratum {sorted(unknown)[0]} is not in the design (strata: {sorted(index)})")
    if np.isinf(y).any():
        raise ValueError("values must be finite (NaN marks a missing review)")
    k_of = np.array([index[h] for h in h_of.tolist()], dtype=np.int64)
    answered = ~np.isnan(y)
    n_strata = len(design)
    rows_in = np.bincount(k_of, minlength=n_strata)
    m = np.bincount(k_of[answered], minlength=n_strata)
    for k, s in enumerate(design):
        if rows_in[k] > max(s.sampled, 0):
            raise ValueError(f"stratum {s.index} has {rows_in[k]} units but its design drew {s.sampled}")
        if s.population < s.sampled:
            raise ValueError(f"stratum {s.index}: {s.sampled} drawn from a population of {s.population}")
    if int(m.sum()) < 2:
        raise ValueError(f"{int(m.sum())} reviewed unit(s): an estimate needs at least 2")
    pop = np.array([s.population for s in design], dtype=np.float64)
    drawn = np.array([s.sampled for s in design], dtype=np.float64)
    groups = _pool(pop.astype(np.int64), m)
    n_total = float(pop.sum())
    if binary is None:
        yy = y[answered]
        binary = bool(np.all((yy == 0.0) | (yy == 1.0)))
    inv_pi = np.where(drawn > 0, pop / np.maximum(drawn, 1), 0.0)  # 1 / pi_h
    total = 0.0
    var = 0.0
    df_den = 0.0
    means: dict[int, float | None] = {}
    pooled: dict[int, int | None] = {}
    group_of = np.full(n_strata, -1, dtype=np.int64)
    for g, members in enumerate(groups):
        group_of[members] = g
    unit_group = group_of[k_of]
    for g, members in enumerate(groups):
        n_g = float(pop[members].sum())
        rows = answered & (unit_group == g)
        m_g = int(rows.sum())
        yg = y[rows]
        w = inv_pi[k_of[rows]]
        w = w * n_g / w.sum()  # 1/pi scaled so the responders stand for the whole group
        mean_g = float(np.dot(w, yg) / n_g)
        total += n_g * mean_g
        if m_g < n_g and m_g > 1:
            v_g = (1.0 - m_g / n_g) * m_g / (m_g - 1) * float(np.sum((w * (yg - mean_g)) ** 2))
            var += v_g
            df_den += v_g ** 2 / (m_g - 1)
        for k in members:
            sel = answered & (k_of == k)
            means[k] = float(y[sel].mean()) if sel.any() else None
            pooled[k] = design[members[0]].index if len(members) > 1 else None
    value = total / n_total
    var /= n_total ** 2
    df_den /= n_total ** 4
    se = math.sqrt(max(var, 0.0))
    df = var ** 2 / df_den if df_den > 0 else math.inf
    responded = int(m.sum())
    sampled = int(drawn.sum())
    f = responded / n_total
    cap = responded / (1.0 - f) if f < 1.0 else math.inf  # a simple random sample's effective n, with the fpc
    if binary:
        pq = value * (1.0 - value)
        n_eff = pq / var if var > 0 and pq > 0 else cap
        low, high = _wilson(value, n_eff, level)
        interval = "wilson_effective_n"
    else:
        n_eff = min(cap, float(np.var(y[answered], ddof=1)) / var) if var > 0 and responded > 1 else cap
        q = float(sps.t.ppf(0.5 + level / 2, df)) if math.isfinite(df) else float(special.ndtri(0.5 + level / 2))
        low, high = value - q * se, value + q * se
        interval = "t_satterthwaite"
    per = tuple(StratumEstimate(s.index, s.population, s.sampled, int(m[k]), means.get(k), pooled.get(k))
                for k, s in enumerate(design))
    return MeanEstimate(value, low, high, se, level, interval, df, n_eff, int(n_total), sampled, responded, per)


def _pool(pop: np.ndarray, m: np.ndarray) -> list[list[int]]:
    """Groups of adjacent strata (positions in the design) each of which can carry a variance: at least two
    responders, or every unit answered. A stratum short of that joins the next one (the last: the one
    before), so its population is stood for by the units nearest to it in uncertainty."""
    groups = [[k] for k in range(pop.size) if pop[k] > 0]

    def ok(g: list[int]) -> bool:
        mg, ng = int(m[g].sum()), int(pop[g].sum())
        return mg >= 2 or (mg == ng and mg > 0)

    i = 0
    while i < len(groups) and len(groups) > 1:
        if ok(groups[i]):
            i += 1
            continue
        j = i + 1 if i + 1 < len(groups) else i - 1
        a, b = sorted((i, j))
        groups[a:b + 1] = [sorted(groups[a] + groups[b])]
        i = a
    return groups


def _wilson(p: float, n: float, level: float) -> tuple[float, float]:
    if not math.isfinite(n):
        return p, p
    z = float(special.ndtri(0.5 + level / 2))
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / denom
    # clamped to contain p: at p = 0 or 1 the rounding of center - half would leave p just outside
    return max(0.0, min(p, center - half)), min(1.0, max(p, center + half))


__all__ = ["Design", "MeanEstimate", "ReviewSample", "Stratum", "StratumEstimate", "allocate",
           "binary_uncertainty", "draw", "estimate_mean", "plan_design", "review_sample", "top_class_uncertainty"]
