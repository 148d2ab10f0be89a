"""95 % confidence intervals in plain Python: a proportion (Wilson's score interval), the
difference of two proportions (Newcombe's hybrid score interval, built from two Wilson
intervals) and the difference of two means (the normal approximation, Welch's standard error).

Pure functions of counts: no database, no scipy. `z` is the 97.5th percentile of the standard
normal (1.95996), as in the textbook tables the tests check these against (Newcombe 1998).
docs/analytics.md ("Experiments") says when each is used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """An estimate and its 95 % interval. `low` and `high` are None when the data cannot give
    one (a mean of one value)."""

    value: float
    low: float | None
    high: float | None

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly on one side of 0 (a difference told apart from chance)."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def wilson(k: int, n: int, z: float = Z95) -> Interval | None:
    """`k` successes of `n` as a proportion with Wilson's score interval; None for `n` = 0.

    Unlike the textbook `p ± z·√(p(1-p)/n)`, it stays within 0..1 and is not a zero-width
    interval at 0 % or 100 %, so it is right for the small counts a new experiment has.
    """
    if n <= 0:
        return None
    return Interval(*_wilson(k, n, z))


def _wilson(k: int, n: int, z: float) -> tuple[float, float, float]:
    """(p, low, high) for `k` of `n` > 0."""
    if not 0 <= k <= n:
        raise ValueError(f"{k} successes of {n}: need 0 <= k <= n")
    p = k / n
    z2 = z * z
    scale = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return p, max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> Interval | None:
    """`k1/n1 - k2/n2` with Newcombe's hybrid score interval (his method 10); None when either
    `n` is 0. Each side of the interval adds up the distances from the two Wilson intervals
    that push the difference that way."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, low1, high1 = _wilson(k1, n1, z)
    p2, low2, high2 = _wilson(k2, n2, z)
    d = p1 - p2
    below = math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    above = math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return Interval(d, d - below, d + above)


@dataclass(frozen=True)
class Sample:
    """`n` values, kept as their count, sum and sum of squares (exact integers), so that a
    group of 100,000 advocates, most with nothing, needs only its non-zero values."""

    n: int
    total: int
    squares: int

    @classmethod
    def of(cls, values: Iterable[int], n: int) -> Sample:
        """`values` (the non-zero ones are enough) of a group of `n`."""
        total = squares = count = 0
        for v in values:
            total += v
            squares += v * v
            count += 1
        if count > n:
            raise ValueError(f"{count} values for a group of {n}")
        return cls(n, total, squares)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The sample variance (divided by `n - 1`), or None for fewer than 2 values."""
        if self.n < 2:
            return None
        return (self.n * self.squares - self.total * self.total) / (self.n * (self.n - 1))


def mean(sample: Sample, z: float = Z95, floor: float | None = None) -> Interval | None:
    """The mean with `mean ± z·s/√n` (the normal approximation); None for no values, no
    interval for one. `floor` clips the low end (0 for counts, which cannot be negative)."""
    m = sample.mean
    if m is None:
        return None
    if sample.variance is None:
        return Interval(m, None, None)
    half = z * math.sqrt(sample.variance / sample.n)
    low = m - half if floor is None else max(floor, m - half)
    return Interval(m, low, m + half)


def difference_of_means(a: Sample, b: Sample, z: float = Z95) -> Interval | None:
    """`mean(a) - mean(b)` with `± z·√(s²a/na + s²b/nb)` (Welch's standard error, normal
    approximation: fine for the tens of advocates and more a verdict asks for). None when
    either group is empty; no interval when either has fewer than 2 values."""
    ma, mb = a.mean, b.mean
    if ma is None or mb is None:
        return None
    va, vb = a.variance, b.variance
    if va is None or vb is None:
        return Interval(ma - mb, None, None)
    half = z * math.sqrt(va / a.n + vb / b.n)
    return Interval(ma - mb, ma - mb - half, ma - mb + half)
