"""Data-quality checks: is the current data well-formed against the reference?

Each check compares the current profile with the reference's and returns
findings; none reads raw rows. Rates are compared with a significance test
as well as a practical threshold, so that a random half of a table does not
raise findings that are only sampling noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
from scipy import stats as sps

from argusml.profile import ColumnProfile, ColumnSpec, DatasetProfile, NumericProfile, Reference
from argusml.profile.categorical import CategoryProfile
from argusml.profile.declared import Declared, encode_extreme
from argusml.schema import Finding, Kind, QualitySettings, Role, Severity
from argusml.stats import unseen_mass_test

FUTURE_SLACK_S = 86_400.0
"""Timestamps up to a day ahead are tolerated (time zones, clock drift)."""

QUALITY_P = 1e-3
"""Family-wise significance for each quality check over a report: a rate
comparison on one of m columns must reach QUALITY_P / m (Bonferroni), and a
sentinel candidate QUALITY_P / (number of values examined). Strict, because
these checks run on every column of every window, and a random half of a
real table must not raise findings that are sampling noise."""


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%" if x < 0.1 else f"{100 * x:.1f}%"


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): is k events more than chance?"""
    if k <= 0:
        return 1.0
    p = min(max(p, 1e-12), 1.0)
    return float(sps.binom.sf(k - 1, n, p))


def _rate_increase_p(k_cur: int, n_cur: int, k_ref: int, n_ref: int) -> float:
    """One-sided two-proportion test (pooled z) that the current rate is higher."""
    if n_cur == 0 or n_ref == 0:
        return 1.0
    p1, p0 = k_cur / n_cur, k_ref / n_ref
    pooled = (k_cur + k_ref) / (n_cur + n_ref)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_cur + 1 / n_ref))
    if se == 0:
        return 0.0 if p1 > p0 else 1.0
    return float(sps.norm.sf((p1 - p0) / se))


RATE_CHECKS = ("all_null", "type_errors", "missing_values", "constant_column", "near_constant_column",
               "out_of_range", "sentinel_value", "new_categories", "vanished_categories")
"""Checks that judge a rate, and so need ``quality.min_rows`` rows (``QualityChecker.rates_checked``)."""

TOP_OFFENDERS = 10
"""Values outside ``allowed`` listed in a finding's evidence, most frequent first."""


def _value(x: float, when: bool) -> float | str | None:
    """A bound or an offending value for evidence: epoch seconds as ISO time for datetime columns."""
    if when and math.isfinite(x):
        return datetime.fromtimestamp(min(max(x, -62135596800.0), 253402300799.0), timezone.utc).isoformat()
    return encode_extreme(x + 0.0)  # -0.0 is 0: which of the two a min keeps depends on the order merged


def _show(x: float, when: bool) -> str:
    v = _value(x, when)
    return v if isinstance(v, str) else f"{v:g}" if v is not None else "n/a"


def outside_range(c: NumericProfile) -> tuple[int, int, int, int]:
    """(below, above, infinite, n) of a current numeric profile binned on the reference's edges: rows
    below the reference minimum, above its maximum, infinite, and all rows with a number. One rule for the
    out_of_range check and the report's ``out_of_range_ratio``."""
    if c.counts is None:
        return 0, 0, c.n_inf, c.n + c.n_inf
    return int(c.counts[0]), int(c.counts[-1]), c.n_inf, c.n + c.n_inf


def new_categories(r: CategoryProfile, c: CategoryProfile) -> dict[Any, int] | None:
    """The current categories the reference never had, with their counts; None when the reference's
    categories are a sketch (a rare level it dropped would read as new). One rule for the new_categories
    check and the report's ``new_categories``/``new_category_ratio``."""
    if not r.exact:
        return None
    return {k: v for k, v in c.counts.items() if k not in r.counts}


def beyond_bound(p: NumericProfile, edges: np.ndarray | None, bound: float, low: bool) -> tuple[int, int, float]:
    """Values beyond a bound the profile did not count, as (at least, at most, worst finite value).

    Exact from a complete sample. Otherwise bracketed by the reference's bins: a bin wholly beyond the
    bound counts, the one the bound cuts may; the profile's min or max beyond the bound proves one value.
    Infinities (of unknown sign here) only widen the upper end."""
    worst = p.min if low else p.max
    if p.n == 0:
        return 0, p.n_inf, math.nan
    if p.sample_complete:
        s = p.sample
        k = int(np.searchsorted(s, bound, "left")) if low else int(s.size - np.searchsorted(s, bound, "right"))
        return k, k + p.n_inf, worst
    beyond = worst < bound if low else worst > bound
    if p.counts is None or edges is None:
        return int(beyond), (p.n if beyond else 0) + p.n_inf, worst
    counts = p.counts
    if low:  # bins 0..j-1 hold values <= edges[j-1] < bound; bin j straddles it
        j = int(np.searchsorted(edges, bound, "left"))
        sure, maybe = int(counts[:j].sum()), int(counts[j])
    else:  # bins j+1.. hold values > edges[j] > bound; bin j straddles it unless it starts at the bound
        j = int(np.searchsorted(edges, bound, "right"))
        sure, maybe = int(counts[j + 1:].sum()), int(counts[j])
        if j > 0 and edges[j - 1] == bound:
            sure, maybe = sure + maybe, 0
    return max(sure, int(beyond)), sure + maybe + p.n_inf, worst


class QualityChecker:
    def __init__(self, reference: Reference, current: DatasetProfile, settings: QualitySettings,
                 severity: dict[str, Severity], declared: Mapping[str, Declared] | None = None) -> None:
        self.ref = reference
        self.cur = current
        self.s = settings
        self.sev = severity
        self.declared = declared or {}
        self.findings: list[Finding] = []
        self.p_column = QUALITY_P
        self._sentinels: list[tuple[float, str, float, int, float, float, bool]] = []
        self._sentinel_tests = 0  # every (column, frequent value) examined, for the correction

    def add(self, check: str, column: str | None, message: str, **evidence: Any) -> None:
        self.findings.append(Finding(check, column, self.sev[check], message, evidence))

    def run(self, columns: list[str]) -> list[Finding]:
        self.p_column = QUALITY_P / max(1, len(columns))
        for name in columns:
            spec = self.ref.specs[name]
            rp = self.ref.profile.columns[name]
            cp = self.cur.columns.get(name)
            if cp is None:
                if spec.role is Role.TARGET:
                    # labels often arrive later than the data: worth knowing, not a schema break
                    self.findings.append(Finding("missing_column", name, Severity.P2,
                                                 f"target column {name!r} is not in the current data (labels not "
                                                 "joined yet?); target drift was not checked", {"role": "target"}))
                    continue
                self.add("missing_column", name, f"column {name!r} ({spec.kind.value}, {spec.role.value}) is missing "
                         "from the current data", kind=spec.kind.value, role=spec.role.value)
                continue
            self.column(name, spec, rp, cp)
        for name in self.cur.extra_columns:
            self.add("extra_column", name, f"column {name!r} is not in the reference; it is not monitored")
        # sentinel candidates are many (every frequent value of every column): correct over all of them
        m = max(1, self._sentinel_tests)
        for p, name, value, count, share, ref_share, bounded in self._sentinels:
            if p < QUALITY_P / m:
                self.add("sentinel_value", name, f"the value {value:g} now holds {_pct(share)} of {name!r} "
                         f"(reference: {'at most ' if bounded else ''}{_pct(ref_share)})",
                         value=value, share=share, reference_share=ref_share, count=count, p_value=p)
        return self.findings

    @property
    def rates_checked(self) -> bool:
        """Whether the current data holds enough rows for the rate checks (``quality.min_rows``).

        A rate on a handful of rows is an anecdote, not a finding: one stray event
        with a null feature is "100% missing", four equal scores in twenty rows are
        "a sentinel holding 20%". Below the minimum these checks say
        ``insufficient_data`` (``QualityChecker.insufficient``), exactly as drift does
        below ``drift.min_rows``; the hour and day roll-ups, which merge the small
        windows, check them. Contracts and structure are not rates and run at any
        size: a declared ``min``/``max``/``allowed`` is broken by one value, a
        missing or extra column by its absence, a duplicated id by two rows."""
        return self.cur.n_rows >= self.s.min_rows

    @property
    def insufficient(self) -> dict[str, Any] | None:
        """What the verdict says when the rate checks did not run, else None."""
        if self.rates_checked or self.cur.n_rows == 0:
            return None
        return {"rows": self.cur.n_rows, "min_rows": self.s.min_rows, "checks": list(RATE_CHECKS)}

    def column(self, name: str, spec: ColumnSpec, rp: ColumnProfile, cp: ColumnProfile) -> None:
        n = cp.n_rows
        if n == 0:
            return
        # a declared contract holds whatever the reference did and whatever else is wrong: first
        self.declared_bounds(name, spec, rp, cp)
        if not self.rates_checked:
            if spec.role is Role.ID:
                self.ids(name, cp)
            elif spec.kind is Kind.DATETIME and cp.numeric is not None and cp.numeric.n:
                self.future(name, cp)
            return
        if cp.present == 0 and rp.present > 0:
            self.add("all_null", name, f"column {name!r} has no usable values: {cp.nulls} of {n} missing"
                     + (f", {cp.type_errors} of the wrong type" if cp.type_errors else ""),
                     nulls=cp.nulls, type_errors=cp.type_errors, rows=n)
            return
        # a reference without wrongly typed values sets the contract: any is a finding; otherwise the
        # rate must rise significantly
        if cp.type_errors and cp.type_error_ratio > max(self.s.type_error_ratio, rp.type_error_ratio) and (
                rp.type_errors == 0
                or _rate_increase_p(cp.type_errors, n, rp.type_errors, rp.n_rows) < self.p_column):
            self.add("type_errors", name, f"{_pct(cp.type_error_ratio)} of {name!r} ({cp.type_errors} of {n}) are "
                     f"not {spec.kind.value} values (reference: {_pct(rp.type_error_ratio)})",
                     ratio=cp.type_error_ratio, count=cp.type_errors, reference_ratio=rp.type_error_ratio)
        rise = cp.missing_ratio - rp.missing_ratio
        if rise >= self.s.missing_increase and _rate_increase_p(cp.nulls, n, rp.nulls, rp.n_rows) < self.p_column:
            self.add("missing_values", name, f"{_pct(cp.missing_ratio)} of {name!r} is missing "
                     f"(reference: {_pct(rp.missing_ratio)})", ratio=cp.missing_ratio,
                     reference_ratio=rp.missing_ratio, count=cp.nulls)
        if spec.role in (Role.ID,):
            self.ids(name, cp)
            return
        if spec.kind is Kind.DATETIME and cp.numeric is not None and cp.numeric.n:
            self.future(name, cp)
        if spec.kind is Kind.NUMERIC and cp.numeric is not None and rp.numeric is not None:
            self.constant_numeric(name, rp, cp)
            self.out_of_range(name, rp, cp)
            self.sentinel(name, rp, cp)
        elif cp.categories is not None and rp.categories is not None:
            self.constant_categorical(name, rp, cp)
            self.categories(name, rp, cp)

    def declared_bounds(self, name: str, spec: ColumnSpec, rp: ColumnProfile, cp: ColumnProfile) -> None:
        """Values beyond what the column's owner declared possible. No test and no reference: a contract
        is broken by one value (a negative Kelvin is a bug even if the training data had some). Only
        ``max_missing`` is a rate, and a rate of a handful of rows is coarse: below
        ``max_missing_min_rows`` rows its finding is P2 at most (unless the contract is "never missing")."""
        d = self.declared.get(name)
        if d is None:
            return
        counts = self.cur.declared.get(name)
        if counts is not None and counts.bounds != d.counted:
            counts = None  # counted against other bounds (the config changed): fall back to what the profile proves
        when = spec.kind is Kind.DATETIME
        parts: dict[str, dict[str, Any]] = {}
        texts: list[str] = []
        c = cp.numeric
        if c is not None:
            values = c.n + c.n_inf
            for key, low in (("min", True), ("max", False)):
                bound = d.min if low else d.max
                if bound is None or values == 0:
                    continue
                if counts is not None:
                    k = k_max = counts.below if low else counts.above
                    worst = counts.lowest if low else counts.highest
                else:
                    k, k_max, worst = beyond_bound(c, spec.numeric.edges if spec.numeric is not None else None,
                                                   bound, low)
                if k == 0:
                    continue
                part: dict[str, Any] = {"bound": _value(bound, when), "count": k, "share": k / values,
                                        "values": values, "worst": _value(worst, when), "exact": k == k_max}
                if k_max != k:
                    part["count_max"] = k_max
                r = rp.numeric
                ref_worst = None if r is None or r.n == 0 else (r.min if low else r.max)
                extreme = ("earliest" if low else "latest") if when else ("lowest" if low else "highest")
                note = ""
                if ref_worst is not None and (ref_worst < bound if low else ref_worst > bound):
                    part["reference_worst"] = _value(ref_worst, when)
                    note = f"; the reference's {extreme} was {_show(ref_worst, when)}"
                parts[key] = part
                side = ("before" if low else "after") if when else ("below" if low else "above")
                how_many = f"{k}" if k == k_max else f"at least {k} (at most {k_max})"
                texts.append(f"{how_many} of {values} values ({_pct(k / values)}) {side} {key} "
                             f"{_show(bound, when)} ({extreme} {_show(worst, when)}{note})")
        cats = cp.categories
        if d.allowed is not None and cats is not None and cats.n:
            offenders = {k: v for k, v in cats.counts.items() if k not in d.allowed}
            if counts is not None:
                k = k_max = counts.outside
            elif cats.exact:
                k = k_max = sum(offenders.values())
            else:  # heavy hitters only: each estimate is within error_bound rows
                k = sum(max(0, v - cats.error_bound) for v in offenders.values())
                k_max = cats.n - sum(max(0, cats.counts.get(a, 0) - cats.error_bound) for a in d.allowed)
            if k > 0:
                top = sorted(offenders.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_OFFENDERS]
                part = {"allowed": sorted(d.allowed), "count": k, "share": k / cats.n, "values": cats.n,
                        "exact": k == k_max, "top": dict(top), "top_exact": cats.exact}
                if k_max != k:
                    part["count_max"] = k_max
                r = rp.categories
                note = ""
                if r is not None and r.exact:
                    ref_k = sum(v for cat, v in r.counts.items() if cat not in d.allowed)
                    if ref_k:
                        part["reference_count"] = ref_k
                        note = f" (the reference had {ref_k} too)"
                parts["allowed"] = part
                shown = ", ".join(f"{cat!r} ({v})" for cat, v in top[:5])
                more = f" and {len(offenders) - 5} more" if len(offenders) > 5 else ""
                how_many = f"{k}" if k == k_max else f"at least {k} (at most {k_max})"
                texts.append(f"{how_many} of {cats.n} values ({_pct(k / cats.n)}) not in allowed: {shown}{more}"
                             + note)
        small = False
        if d.max_missing is not None and cp.missing_ratio > d.max_missing:
            small = d.max_missing > 0 and cp.n_rows < self.s.max_missing_min_rows
            parts["max_missing"] = {"bound": d.max_missing, "ratio": cp.missing_ratio, "count": cp.nulls,
                                    "rows": cp.n_rows, "exact": True, "small_sample": small,
                                    "reference_ratio": rp.missing_ratio}
            texts.append(f"{_pct(cp.missing_ratio)} missing ({cp.nulls} of {cp.n_rows} rows) > max_missing "
                         f"{_pct(d.max_missing)}" + (f" (only {cp.n_rows} rows: P2 at most below "
                                                     f"{self.s.max_missing_min_rows})" if small else ""))
        if not parts:
            return
        severity = self.sev["declared_bound"]
        if small and len(parts) == 1 and severity.rank < Severity.P2.rank:
            severity = Severity.P2
        message = f"{name!r} breaks its declared bounds: " + "; ".join(texts)
        self.findings.append(Finding("declared_bound", name, severity, message,
                                     {"violated": list(parts), **parts,
                                      "exact": all(p["exact"] for p in parts.values())}))

    def future(self, name: str, cp: ColumnProfile) -> None:
        """Timestamps after the check runs: clock skew, or a unit error
        (milliseconds read as seconds) that a range check cannot see,
        since production dates always lie after the reference's."""
        from datetime import datetime, timezone

        c = cp.numeric
        assert c is not None
        now = datetime.now(timezone.utc).timestamp()
        if c.max > now + FUTURE_SLACK_S:
            latest = datetime.fromtimestamp(min(c.max, 253402300799), timezone.utc).isoformat(timespec="seconds")
            share = 1.0 - next((q for q, v in sorted((c.quantiles or {}).items()) if v > now + FUTURE_SLACK_S), 1.0)
            self.add("future_timestamps", name, f"{name!r} has values in the future: the latest is {latest}"
                     + (f" (about {_pct(share)} of rows or more)" if share > 0 else ""), latest=latest,
                     checked_at=datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"))

    def ids(self, name: str, cp: ColumnProfile) -> None:
        if cp.distinct is None:
            return
        dupes = cp.present - cp.distinct
        if dupes > 0:
            how = "" if cp.distinct_exact else " up to"  # merged distinct counts are lower bounds
            self.add("duplicate_ids", name, f"{name!r} has{how} {dupes} duplicate ids among {cp.present} rows",
                     duplicates=dupes, rows=cp.present)

    def constant_numeric(self, name: str, rp: ColumnProfile, cp: ColumnProfile) -> None:
        r, c = rp.numeric, cp.numeric
        assert r is not None and c is not None
        if c.n < 2 or r.n < 2:
            return
        ref_constant = r.min == r.max
        if c.min == c.max and not ref_constant:
            # chance that n values drawn like the reference are all this one value
            share = r.top.get(c.min, r.top_omitted if r.min <= c.min <= r.max else 0) / r.n
            if c.n * np.log(max(share, 1e-300)) < np.log(self.p_column):
                self.add("constant_column", name, f"{name!r} is constant ({c.min:g}) in all {c.n} current values; "
                         f"the reference ranged from {r.min:g} to {r.max:g}", value=c.min, reference_share=share)
            return
        top_c = max(c.top.values(), default=1) / c.n
        top_r = max(r.top.values(), default=1) / r.n
        k_c, k_r = round(top_c * c.n), round(top_r * r.n)
        if top_c >= self.s.near_constant_share > top_r and _rate_increase_p(k_c, c.n, k_r, r.n) < self.p_column:
            value = max(c.top, key=c.top.__getitem__)
            self.add("near_constant_column", name, f"{_pct(top_c)} of {name!r} is the single value {value:g} "
                     f"(reference: at most {_pct(top_r)} for any value)", value=value, share=top_c)

    def constant_categorical(self, name: str, rp: ColumnProfile, cp: ColumnProfile) -> None:
        r, c = rp.categories, cp.categories
        assert r is not None and c is not None
        if c.n < 2 or not c.counts:
            return
        if len(c.counts) == 1 and len(r.counts) > 1:
            (value,) = c.counts
            share = r.counts.get(value, 0) / max(r.n, 1)
            if c.n * np.log(max(share, 1e-300)) < np.log(self.p_column):
                self.add("constant_column", name, f"{name!r} is constant ({value!r}) in all {c.n} current values; "
                         f"the reference had {len(r.counts)} categories", value=value, reference_share=share)
            return
        top_c = max(c.counts.values()) / c.n
        top_r = max(r.counts.values(), default=0) / max(r.n, 1)
        k_c, k_r = max(c.counts.values()), max(r.counts.values(), default=0)
        if top_c >= self.s.near_constant_share > top_r and _rate_increase_p(k_c, c.n, k_r, r.n) < self.p_column:
            value = max(c.counts, key=c.counts.__getitem__)
            self.add("near_constant_column", name, f"{_pct(top_c)} of {name!r} is {value!r} "
                     f"(reference: {_pct(top_r)} at most)", value=value, share=top_c)

    def out_of_range(self, name: str, rp: ColumnProfile, cp: ColumnProfile) -> None:
        r, c = rp.numeric, cp.numeric
        assert r is not None and c is not None
        if c.counts is None or r.n == 0:
            return
        below, above, _, n = outside_range(c)
        k = below + above + c.n_inf
        if n == 0 or k == 0:
            return
        share = k / n
        # exchangeable data: a new value falls outside the min..max of n_ref
        # values with probability 2 / (n_ref + 1); infinities as often as in the reference
        expected = 2.0 / (r.n + 1) + r.n_inf / max(r.n + r.n_inf, 1)
        if share >= self.s.out_of_range_ratio and share > expected and _binom_sf(k, n, expected) < self.p_column:
            parts = []
            if below:
                parts.append(f"{below} below the reference minimum {r.min:g} (lowest now {c.min:g})")
            if above:
                parts.append(f"{above} above the reference maximum {r.max:g} (highest now {c.max:g})")
            if c.n_inf:
                parts.append(f"{c.n_inf} infinite")
            self.add("out_of_range", name, f"{_pct(share)} of {name!r} is outside the reference range: "
                     + "; ".join(parts), share=share, below=below, above=above, infinite=c.n_inf,
                     reference_min=r.min, reference_max=r.max, current_min=c.min, current_max=c.max)

    def sentinel(self, name: str, rp: ColumnProfile, cp: ColumnProfile) -> None:
        r, c = rp.numeric, cp.numeric
        assert r is not None and c is not None
        if c.n == 0 or r.n == 0:
            return
        for value, count in c.top.items():
            share = count / c.n
            if share < self.s.sentinel_share:
                continue
            self._sentinel_tests += 1
            outside = value < r.min or value > r.max  # never seen in the reference: its count there is 0
            ref_count = r.top.get(value, 0 if outside else r.top_omitted)
            ref_share = ref_count / r.n
            if share - ref_share < self.s.sentinel_share or share < 2 * ref_share:
                continue
            bounded = value not in r.top and not outside
            self._sentinels.append((_rate_increase_p(count, c.n, ref_count, r.n), name, value, count, share,
                                    ref_share, bounded))

    def categories(self, name: str, rp: ColumnProfile, cp: ColumnProfile) -> None:
        r, c = rp.categories, cp.categories
        assert r is not None and c is not None
        if c.n == 0 or r.n == 0:
            return
        new = new_categories(r, c)
        if new:
            k_new = sum(new.values())
            share = k_new / c.n
            # Good-Turing: the chance that the next value is unseen is about the share of reference values
            # seen exactly once; the test carries that estimate's own error (the unseen-mass test of drift)
            singletons = sum(1 for v in r.counts.values() if v == 1)
            doubletons = sum(1 for v in r.counts.values() if v == 2)
            unseen = unseen_mass_test(r.n, singletons, doubletons, c.n, k_new)
            if share > self.s.new_category_share and unseen.p_value < self.p_column:
                top = sorted(new.items(), key=lambda kv: -kv[1])[:5]
                shown = ", ".join(f"{k!r} ({_pct(v / c.n)})" for k, v in top)
                more = f" and {len(new) - len(top)} more" if len(new) > len(top) else ""
                self.add("new_categories", name, f"{len(new)} categor{'y' if len(new) == 1 else 'ies'} of {name!r} "
                         f"not in the reference, {_pct(share)} of rows: {shown}{more}",
                         categories={k: v for k, v in top}, share=share, count=len(new))
        # A category absent from the current data: given its t reference rows, all t landing on the
        # reference's side has chance (n_r / (n_r + n_c)) ** t when nothing changed (its reference count is a
        # sample too). Bonferroni over the reference's categories: a column of thousands of levels has
        # some that a random split leaves on one side. At least 10 expected rows, as before.
        side = r.n / (r.n + c.n)
        least = max(10.0 * r.n / c.n, np.log(self.p_column / max(len(r.counts), 1)) / np.log(side))
        gone = [k for k, v in r.counts.items() if k not in c.counts and v >= least]
        if gone and c.exact and r.exact:
            shown = ", ".join(f"{k!r} ({_pct(r.counts[k] / r.n)})" for k in gone[:5])
            self.add("vanished_categories", name, f"{len(gone)} categor{'y' if len(gone) == 1 else 'ies'} of {name!r} "
                     f"expected at least {max(10, round(least * c.n / r.n))} times no longer occur: {shown}",
                     categories={k: r.counts[k] / r.n for k in gone[:20]})


def numeric_summary(cp: ColumnProfile) -> dict[str, Any]:
    p = cp.numeric
    if p is None:
        return {}
    out: dict[str, Any] = {
        "count": p.n,
        "mean": p.moments.mean if p.n else None,
        "std": p.moments.std if p.n > 1 else None,
        "min": p.min if p.n else None,
        "max": p.max if p.n else None,
        "quantiles": {f"p{round(q * 100)}": p.quantile(q) for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)}
        if p.n else {},
        "quantiles_exact": p.quantiles_exact,
        "infinite": p.n_inf,
    }
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}
