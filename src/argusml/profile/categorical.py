"""Category counts: exact up to a cap, heavy hitters past it.

Counts stay exact (and merge exactly) while a column has at most
``MAX_EXACT`` distinct values: a report reads the whole column anyway, and
Arrow's ``value_counts`` makes 100,000 levels cheap. Past that (a column
with more levels, or a day of service windows merged), a DataSketches
frequent-items sketch keeps the heavy hitters with a guaranteed error bound:
a listed category's true count lies between its estimate minus
``error_bound`` and its estimate, an unlisted one's between 0 and
``error_bound``, and any category more frequent than that is never missed.
A test on such counts must carry those bounds (``checks.drift``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import datasketches as ds
import pyarrow as pa
import pyarrow.compute as pc

from argusml.stats import Mergeable

MAX_EXACT = 100_000
MAX_EXACT_ONCE = 1_000_000
"""A profile compared once and thrown away (a report on files) stays exact up to this many levels: a sketch
cannot tell a change spread thinly over many categories from its own error, and holding a million counts
for the length of one report costs little. Kept profiles (baselines, service windows) use MAX_EXACT."""
SKETCH_LG_K = 12  # 4096 counters: error bound at most about 3.5 / 4096 of the rows


def string_counts(arr: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    """Counts of the non-null values, keyed by their text (a category profile's keys)."""
    counts: dict[str, int] = {}
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        vc = pc.value_counts(chunk)
        values = vc.field("values")
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        for k, v in zip(values.to_pylist(), vc.field("counts").to_pylist(), strict=False):
            if k is None:
                continue
            key = k if isinstance(k, str) else str(k)
            counts[key] = counts.get(key, 0) + v
    return counts


@dataclass
class CategoryProfile(Mergeable):
    """Category counts of one column of a batch or window: exact, or a sketch past the cap (see the module).

    Built by ``from_arrow``; combined by ``merge`` or ``+`` into a new profile. "a", "b", "a", null
    counts 3 values, "a" twice; adding "b", "c" gives 5 values. Exact counts bound a count by itself.

    >>> c = CategoryProfile.from_arrow(pa.array(["a", "b", "a", None]))
    >>> c.n, c.counts, c.exact, c.bounds("a"), c.bounds("z")
    (3, {'a': 2, 'b': 1}, True, (2, 2), (0, 0))
    >>> both = c + CategoryProfile.from_arrow(pa.array(["b", "c"]))
    >>> both.n, both.counts
    (5, {'a': 2, 'b': 2, 'c': 1})
    """

    n: int = 0  # non-null values
    counts: dict[str, int] = field(default_factory=dict)
    sketch_bytes: bytes | None = None  # set once the cap was exceeded
    error_bound: int = 0

    @property
    def exact(self) -> bool:
        return self.sketch_bytes is None

    @classmethod
    def from_arrow(cls, arr: pa.ChunkedArray | pa.Array, max_exact: int | None = None) -> CategoryProfile:
        return cls._from_counts(string_counts(arr), max_exact)

    @classmethod
    def _from_counts(cls, counts: dict[str, int], max_exact: int | None = None) -> CategoryProfile:
        n = sum(counts.values())
        if len(counts) <= (MAX_EXACT if max_exact is None else max_exact):
            return cls(n=n, counts=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))
        sk = ds.frequent_strings_sketch(SKETCH_LG_K)
        for k, v in counts.items():
            sk.update(k, v)
        return cls._from_sketch(sk, n)

    @classmethod
    def _from_sketch(cls, sk: ds.frequent_strings_sketch, n: int) -> CategoryProfile:
        items = sk.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
        counts = {item: int(est) for item, est, _lo, _hi in items}
        # the sketch's own offset (upper minus lower bound, the same for every item); the a-priori
        # epsilon * n when nothing is listed
        offset = max((int(hi - lo) for _item, _est, lo, hi in items), default=int(sk.epsilon * n) + 1)
        return cls(n=n, counts=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                   sketch_bytes=sk.serialize(), error_bound=offset)

    def bounds(self, key: str) -> tuple[int, int]:
        """The guaranteed range of a category's true count: exact counts give one number; a sketch gives
        [estimate - error_bound, estimate] for a listed category and [0, error_bound] for an unlisted one."""
        est = self.counts.get(key)
        if self.exact:
            return (est or 0, est or 0)
        if est is None:
            return (0, min(self.error_bound, self.n))
        return (max(est - self.error_bound, 0), est)

    def merge(self, other: CategoryProfile) -> CategoryProfile:
        if self.exact and other.exact:
            merged = dict(self.counts)
            for k, v in other.counts.items():
                merged[k] = merged.get(k, 0) + v
            return CategoryProfile._from_counts(merged)
        sk = self._sketch()
        sk.merge(other._sketch())
        return CategoryProfile._from_sketch(sk, self.n + other.n)

    def as_sketch(self) -> CategoryProfile:
        """The same counts as a frequent-items sketch (itself, if it is one already): what a test compares
        this profile with when the other side could only be sketched."""
        return self if not self.exact else CategoryProfile._from_sketch(self._sketch(), self.n)

    def _sketch(self) -> ds.frequent_strings_sketch:
        if self.sketch_bytes:
            return ds.frequent_strings_sketch.deserialize(self.sketch_bytes)
        sk = ds.frequent_strings_sketch(SKETCH_LG_K)
        for k, v in self.counts.items():
            sk.update(k, v)
        return sk

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "counts": self.counts,
            "sketch": base64.b64encode(self.sketch_bytes).decode("ascii") if self.sketch_bytes else None,
            "error_bound": self.error_bound,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoryProfile:
        return cls(n=int(d["n"]), counts={str(k): int(v) for k, v in d["counts"].items()},
                   sketch_bytes=base64.b64decode(d["sketch"]) if d.get("sketch") else None,
                   error_bound=int(d.get("error_bound", 0)))
