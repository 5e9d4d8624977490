"""Rates with exact, peek-safe confidence bounds (DESIGN.md, "Statistics"; docs/statistics.md).

A rate's bounds are a confidence sequence: the set of true rates p that the beta-binomial
mixture likelihood ratio (uniform prior, Robbins 1970; Howard et al. 2021) has not rejected
at level alpha = 1 - confidence. It is exact for any sample size (no normal approximation:
0 of 1 against a true 90% is no evidence at all) and holds however often the same growing
sample is looked at (Ville's inequality), which a gate run every 30 minutes needs. When
`looks` windows are examined at once (hourly buckets of a 48h window), each is judged at
alpha / looks (Bonferroni), so the chance that any healthy bucket is called is still alpha.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from scipy.optimize import brentq
from scipy.special import betaln

DEFAULT_CONFIDENCE = 0.95
METHOD = "beta-binomial mixture confidence sequence (uniform prior; Robbins 1970)"


def log_mixture_ratio(k: float, n: float, p: float) -> float:
    """log of the evidence against "the true rate is p" after k of n.

    The uniform-prior mixture over all rates, P(k of n) = B(k+1, n-k+1), against the
    binomial likelihood at p: a test martingale under p, so exceeding log(1/alpha) at any
    look happens with probability at most alpha. `k` may be fractional (a projected count).
    """
    return betaln(k + 1, n - k + 1) - k * math.log(p) - (n - k) * math.log1p(-p)


def threshold(confidence: float, looks: int = 1) -> float:
    """The log evidence that rejects a rate: log(looks / alpha)."""
    return math.log(max(looks, 1) / (1.0 - confidence))


def confidence_bounds(
    k: int, n: int, confidence: float = DEFAULT_CONFIDENCE, looks: int = 1
) -> tuple[float, float] | None:
    """The rates not rejected after k of n; None when n is 0.

    log_mixture_ratio is convex in p with its minimum (at most 0) at k/n, so each bound is
    the one root of `ratio = threshold` on its side of k/n (or 0 and 1 when there is none).
    """
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"k={k} must lie between 0 and n={n}")
    level = threshold(confidence, looks)
    edge = 1e-12  # the ratio is finite only strictly inside (0, 1)
    centre = min(max(k / n, edge), 1 - edge)

    def excess(p: float) -> float:
        return log_mixture_ratio(k, n, p) - level

    low = 0.0 if k == 0 or excess(edge) < 0 else brentq(excess, edge, centre)
    high = 1.0 if k == n or excess(1 - edge) < 0 else brentq(excess, centre, 1 - edge)
    return low, high


@dataclass(frozen=True)
class Proportion:
    """k of n and its point estimate (None when n is 0)."""

    k: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None

    def bounds(self, confidence: float = DEFAULT_CONFIDENCE, looks: int = 1):
        return confidence_bounds(self.k, self.n, confidence, looks)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The bounds at the default 95%, for tables that show a rate beside its spread."""
        return self.bounds()

    def __add__(self, other: "Proportion") -> "Proportion":
        return Proportion(self.k + other.k, self.n + other.n)

    def describe(self, confidence: float = DEFAULT_CONFIDENCE, looks: int = 1) -> str:
        if not self.n:
            return "no decided bookings"
        low, high = self.bounds(confidence, looks)
        spread = f"{percent(confidence)} bounds {low:.1%}-{high:.1%}"
        return f"{self.rate:.1%} ({self.k}/{self.n}, {spread})"


def percent(value: float) -> str:
    """0.9 -> '90%', 0.975 -> '97.5%': thresholds shown as written."""
    return f"{value:.1%}".replace(".0%", "%")


@dataclass(frozen=True)
class Limit:
    """A rate's limit and the side of it that is healthy.

    `at_least`: healthy at or above (success >= 97%), else at or below (manual review). With
    `strict` the limit itself is on the unhealthy side (the runbook's "manual review < 1%").
    """

    value: float
    at_least: bool
    strict: bool = False

    def breached_by(self, rate: float) -> bool:
        if self.at_least:
            return rate <= self.value if self.strict else rate < self.value
        return rate >= self.value if self.strict else rate > self.value

    def confidently_breached(self, proportion: Proportion, confidence: float, looks=1) -> bool:
        """The whole confidence sequence on the unhealthy side of the limit."""
        return self._rejects(proportion, confidence, looks) and self.breached_by(proportion.rate)

    def confidently_met(self, proportion: Proportion, confidence: float, looks=1) -> bool:
        """The whole confidence sequence on the healthy side: "certified"."""
        return self._rejects(proportion, confidence, looks) and not self.breached_by(
            proportion.rate
        )

    def _rejects(self, proportion: Proportion, confidence: float, looks: int) -> bool:
        """The limit lies outside the bounds. The log ratio is convex in p with its minimum at
        k/n, so the bound is past the limit exactly when the ratio at the limit is past the
        threshold: one evaluation, no root finding."""
        if not proportion.n or proportion.rate == self.value or not 0 < self.value < 1:
            return False
        evidence = log_mixture_ratio(proportion.k, proportion.n, self.value)
        return evidence >= threshold(confidence, looks)


def bookings_to_decide(
    proportion: Proportion,
    limit: Limit,
    confidence: float,
    *,
    certify: bool,
    looks: int = 1,
    most: int = 10_000_000,
) -> int | None:
    """More decided bookings, at the current rate, until the bound crosses the limit.

    `certify`: until the limit is confidently met (a PASS certified); else until it is
    confidently breached (a FAIL). None when the current rate never gets there (it sits on
    the other side of the limit, or on it) within `most` more.
    """
    rate = proportion.rate
    if rate is None or limit.breached_by(rate) == certify:
        return None
    if rate == limit.value:
        return None
    decided = limit.confidently_met if certify else limit.confidently_breached

    def reached(extra: int) -> bool:
        total = proportion.n + extra
        projected = Proportion(round(rate * total), total)
        return decided(projected, confidence, looks)

    if reached(0):
        return 0
    high = 1
    while not reached(high):
        if high >= most:
            return None
        high *= 2
    low = high // 2  # reached(high) holds, reached(low) does not (low 0 was tested above)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reached(middle) else (middle, high)
    return high


def time_for(bookings: int, per_hour: float) -> timedelta | None:
    """How long `bookings` more decided bookings take at `per_hour`; None without a volume."""
    if per_hour <= 0:
        return None
    return timedelta(hours=bookings / per_hour)
