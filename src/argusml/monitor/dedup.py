"""Which (version, id) pairs of a model were seen recently: idempotent retries.

A Python set of tuples costs many times a key's 8 bytes (docs/BENCHMARKS.md, "Figures behind the code"); at
20,000 events/s an hour of keys would be gigabytes. Keys are therefore 64-bit hashes, gathered in a
small set for the current generation and frozen into sorted numpy arrays
(8 bytes a key) when the generation fills or ages. Generations older than
the horizon are dropped whole, and the oldest go first when ``max_keys`` is
reached, so memory is bounded by configuration.

Generations are merged size-tiered (LSM style), so a lookup searches
O(log n) sorted arrays; a merged array is kept until its newest key leaves
the horizon, so a key is remembered at least ``horizon`` (and at most until
``max_keys`` pushes the oldest array out).

A 64-bit hash can collide: with a million keys the chance that some new key
is mistaken for a duplicate is about n/2^64 per lookup (1e-13), far below
any other loss in a monitoring pipeline.
"""

from __future__ import annotations

from collections import deque

import numpy as np

GENERATION_KEYS = 65_536
_MASK = (1 << 64) - 1


def key_of(version: str, id: str) -> int:
    return hash((version, id)) & _MASK


class DedupIndex:
    def __init__(self, horizon: float, max_keys: int, generation_seconds: float | None = None) -> None:
        self.horizon = horizon
        self.max_keys = max_keys
        self.generation_seconds = generation_seconds if generation_seconds is not None else max(1.0, horizon / 16)
        self._current: set[int] = set()
        self._current_started: float | None = None
        self._current_last = 0.0
        self._frozen: deque[tuple[float, np.ndarray]] = deque()  # (newest time in it, sorted keys)
        self._frozen_keys = 0

    def __len__(self) -> int:
        return len(self._current) + self._frozen_keys

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for _, a in self._frozen) + 60 * len(self._current)

    def _seen_frozen(self, keys: list[int]) -> np.ndarray:
        """Vectorised lookup of a batch in every frozen generation."""
        karr = np.fromiter(keys, dtype=np.uint64, count=len(keys))
        seen = np.zeros(karr.size, dtype=bool)
        for _, arr in self._frozen:
            idx = np.searchsorted(arr, karr)
            idx[idx == arr.size] = 0
            seen |= arr[idx] == karr
        return seen

    def check_and_add(self, keys: list[int], now: float) -> list[bool]:
        """For each key, whether it was seen before (within the horizon);
        unseen keys are added. Duplicates inside ``keys`` count from the second."""
        self._roll(now)
        out = []
        cur = self._current
        old = self._seen_frozen(keys).tolist() if self._frozen and keys else None
        for j, k in enumerate(keys):
            if k in cur or (old is not None and old[j]):
                out.append(True)
            else:
                cur.add(k)
                out.append(False)
        if cur:
            if self._current_started is None:
                self._current_started = now
            self._current_last = now
        return out

    def forget(self, keys: list[int]) -> None:
        """Undo ``check_and_add`` for keys whose write failed (so a retry is not called a duplicate)."""
        for k in keys:
            self._current.discard(k)

    def add(self, keys: list[int], now: float) -> None:
        self._roll(now)
        self._current.update(keys)
        if self._current_started is None:
            self._current_started = now
        self._current_last = max(self._current_last, now)

    def _roll(self, now: float) -> None:
        cur = self._current
        if cur and (len(cur) >= GENERATION_KEYS or
                    (self._current_started is not None and now - self._current_started >= self.generation_seconds)):
            arr = np.fromiter(cur, dtype=np.uint64, count=len(cur))
            arr.sort()
            self._frozen.append((self._current_last, arr))
            self._frozen_keys += arr.size
            self._current = set()
            self._current_started = None
            # size-tiered merging: a lookup costs one binary search per frozen array, so keep
            # O(log n) of them by merging the newest two while they are of similar size
            while len(self._frozen) >= 2 and self._frozen[-2][1].size <= 2 * self._frozen[-1][1].size:
                t_new, newer = self._frozen.pop()
                _, older = self._frozen.pop()
                merged = np.concatenate((older, newer))
                merged.sort(kind="stable")
                self._frozen.append((t_new, merged))
        while self._frozen and (now - self._frozen[0][0] > self.horizon or self._frozen_keys + len(self._current)
                                > self.max_keys):
            _, old = self._frozen.popleft()
            self._frozen_keys -= old.size
