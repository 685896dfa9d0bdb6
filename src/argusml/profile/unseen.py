"""Which values of a near-unique column the reference has seen.

A column of titles, names or identifiers is mostly one-off values: any
sample of it is mostly values no other sample holds, so a category test on
its raw values measures nothing. What *is* stable is how much of it is new.
The reference predicts that share (Good-Turing: the values it saw exactly
once, over its rows); the current data's share of values the reference never
held is compared with it (``stats.unseen_mass_test``).

To know which current values are unseen, the reference keeps a set of its
values - as 64-bit hashes, so a baseline file carries no raw text. Past
``MAX_HASHES`` distinct values it keeps a *coordinated* sample instead: the
values whose hash is among the ``MAX_HASHES`` smallest (a bottom-k sample of
the value space). Because the hash decides, the same values are sampled on
both sides, and every count - the reference's singletons and the current
data's unseen rows - is taken over the same sub-population, so the test stays
exact in its own terms; only its sample size shrinks.

The counts a current profile keeps (rows in the sampled sub-space, and how
many of them were unseen) add, so window profiles merge exactly.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from argusml.stats import Mergeable

MAX_HASHES = 100_000
"""Distinct reference values kept (800 kB of hashes): past it, the bottom-k sample."""

_P = 0x100000001B3  # odd, so invertible modulo 2**64
_Q = pow(_P, -1, 2**64)
_CHUNK_BYTES = 1 << 22
_MASK = (1 << 64) - 1
_powers: dict[int, np.ndarray] = {}


def _pows(base: int, n: int) -> np.ndarray:
    """base**0 .. base**n modulo 2**64 (numpy's uint64 products wrap, which is the modulus we want)."""
    have = _powers.get(base)
    if have is None or have.size <= n:
        size = max(n + 1, 1 << 16, 0 if have is None else 2 * have.size)
        steps = np.full(size, base, dtype=np.uint64)
        steps[0] = 1
        have = np.cumprod(steps, dtype=np.uint64)
        _powers[base] = have
    return have


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit reaches every output bit, so thresholds on the hash sample
    values uniformly."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def hash_strings(arr: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string (nulls must be dropped first), the same on every machine and version.

    A polynomial hash of the UTF-8 bytes modulo 2**64, vectorised through prefix sums
    (sum of b_k * Q**k, rescaled by P**end), then mixed with the length. Plain numpy integer
    arithmetic: no dependency whose hash could change under a stored baseline.
    """
    a = arr.cast(pa.large_string()) if not pa.types.is_large_string(arr.type) else arr
    n = len(a)
    out = np.empty(n, dtype=np.uint64)
    if n == 0:
        return out
    bufs = a.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=a.offset * 8)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    i = 0
    while i < n:
        # as many strings as fit in a chunk of bytes (at least one)
        j = int(np.searchsorted(offsets, offsets[i] + _CHUNK_BYTES, side="right")) - 1
        j = min(max(j, i + 1), n)
        start, end = int(offsets[i]), int(offsets[j])
        length = end - start
        b = data[start:end].astype(np.uint64) + np.uint64(1)  # so that zero bytes count
        s = np.zeros(length + 1, dtype=np.uint64)
        if length:
            np.cumsum(b * _pows(_Q, length)[:length], dtype=np.uint64, out=s[1:])
        lo = offsets[i:j] - start
        hi = offsets[i + 1:j + 1] - start
        h = (s[hi] - s[lo]) * _pows(_P, length)[hi]
        out[i:j] = _mix(h ^ ((hi - lo).astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
        i = j
    return out


def value_counts(arr: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(hash, count) of each distinct non-null string, summed over chunks."""
    chunked = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    if pa.types.is_dictionary(chunked.type):
        chunked = pc.cast(chunked, chunked.type.value_type)
    non_null = chunked.drop_null() if chunked.null_count else chunked
    if len(non_null) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    vc = pc.value_counts(non_null)
    values = vc.field("values")
    return hash_strings(values), np.asarray(vc.field("counts").to_numpy(zero_copy_only=False), dtype=np.int64)


@dataclass
class SeenValues:
    """The reference's side: its (sampled) value hashes and the Good-Turing counts over the same values.

    ``cut`` is the largest hash in the sample (all values when the reference had at most ``MAX_HASHES``
    distinct ones: then ``cut`` is 2**64 - 1). ``rows`` counts reference values in the sample,
    ``singletons`` and ``doubletons`` the sampled values seen once and twice (Good-Turing and its
    variance).

    Built by ``from_arrow``. "a", "b", "b", "c" (and a null) hold 4 values, "a" and "c" once, "b" twice;
    of "a", "d", "d", 2 values were never held.

    >>> seen = SeenValues.from_arrow(pa.array(["a", "b", "b", "c", None]))
    >>> seen.rows, seen.singletons, seen.doubletons, seen.sampled, seen.hashes.size
    (4, 2, 1, False, 3)
    >>> seen.count_unseen(pa.array(["a", "d", "d"]))
    UnseenCounts(rows=3, unseen=2)
    """

    hashes: np.ndarray  # sorted uint64
    cut: int
    rows: int
    singletons: int
    doubletons: int

    @property
    def sampled(self) -> bool:
        return self.cut != _MASK

    @classmethod
    def from_arrow(cls, arr: pa.ChunkedArray | pa.Array, max_hashes: int = MAX_HASHES) -> SeenValues:
        h, c = value_counts(arr)
        order = np.argsort(h, kind="stable")
        h, c = h[order], c[order]
        cut = _MASK
        if h.size > max_hashes:
            cut = int(h[max_hashes - 1])
            h, c = h[:max_hashes], c[:max_hashes]
        return cls(hashes=h, cut=cut, rows=int(c.sum()), singletons=int((c == 1).sum()),
                   doubletons=int((c == 2).sum()))

    def count_unseen(self, arr: pa.ChunkedArray | pa.Array) -> UnseenCounts:
        """Of the values in the sampled sub-space, how many the reference never held."""
        h, c = value_counts(arr)
        inside = h <= np.uint64(self.cut)
        h, c = h[inside], c[inside]
        if self.hashes.size:
            pos = np.minimum(np.searchsorted(self.hashes, h), self.hashes.size - 1)
            seen = self.hashes[pos] == h
        else:
            seen = np.zeros(h.size, dtype=bool)
        return UnseenCounts(rows=int(c.sum()), unseen=int(c[~seen].sum()))

    def to_dict(self) -> dict[str, Any]:
        return {"hashes": base64.b64encode(self.hashes.astype("<u8").tobytes()).decode("ascii"), "cut": str(self.cut),
                "rows": self.rows, "singletons": self.singletons, "doubletons": self.doubletons}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeenValues:
        return cls(hashes=np.frombuffer(base64.b64decode(d["hashes"]), dtype="<u8").astype(np.uint64),
                   cut=int(d["cut"]), rows=int(d["rows"]), singletons=int(d["singletons"]),
                   doubletons=int(d["doubletons"]))


@dataclass
class UnseenCounts(Mergeable):
    """The current side: rows in the sampled sub-space and how many of them the reference never held.
    Both add, so window profiles merge exactly (``merge`` or ``+``, a new object).

    >>> UnseenCounts(3, 2) + UnseenCounts(5, 1)
    UnseenCounts(rows=8, unseen=3)
    """

    rows: int = 0
    unseen: int = 0

    def merge(self, other: UnseenCounts) -> UnseenCounts:
        return UnseenCounts(self.rows + other.rows, self.unseen + other.unseen)

    def to_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "unseen": self.unseen}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnseenCounts:
        return cls(int(d["rows"]), int(d["unseen"]))
