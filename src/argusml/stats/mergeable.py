"""``a + b`` for every summary that merges: one spelling of "the summary of both parts".

The profiles and moments of Argus speak one verb set, as River's online
statistics do: a summary is built from data by a class method
(``from_values``, ``from_arrow``) or, where it accumulates, by ``update``;
two summaries combine with ``merge``; what it knows is read from properties;
``to_dict``/``from_dict`` store it. ``merge`` *returns* a new summary and
leaves both operands as they were, because the callers keep the parts (a
window's own profile stays stored after its hour has merged it). The result
may share unchanged parts with an operand, so a summary is treated as a
value once it has been merged. ``a + b`` is ``a.merge(b)``.
"""

from __future__ import annotations

from typing import TypeVar

M = TypeVar("M", bound="Mergeable")


class Mergeable:
    """Gives a class with ``merge`` the ``+`` operator; only summaries of the same class add.

    >>> import numpy as np
    >>> from argusml.stats import Moments
    >>> a, b = Moments.from_values(np.array([1.0, 2.0])), Moments.from_values(np.array([6.0]))
    >>> (a + b) == a.merge(b), (a + b).n, (a + b).mean   # (1 + 2 + 6) / 3
    (True, 3, 3.0)
    >>> a + 1
    Traceback (most recent call last):
    ...
    TypeError: unsupported operand type(s) for +: 'Moments' and 'int'
    """

    __slots__ = ()

    def merge(self: M, other: M) -> M:  # each summary defines its own
        raise NotImplementedError(f"{type(self).__name__} does not define merge")

    def __add__(self: M, other: object) -> M:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.merge(other)
