"""Proportions with their 95% Wilson score interval."""

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """k of n, the point estimate and its Wilson interval (None when n is 0)."""

    k: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.k, self.n)

    def describe(self) -> str:
        if not self.n:
            return "no decided bookings"
        low, high = self.interval
        return f"{self.rate:.1%} ({self.k}/{self.n}, 95% CI {low:.1%}-{high:.1%})"


def percent(value: float) -> str:
    """0.9 -> '90%', 0.975 -> '97.5%': thresholds shown as written."""
    return f"{value:.1%}".replace(".0%", "%")


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval: honest at small n and at rates near 0 or 1, unlike k/n ± z·se."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"k={k} must lie between 0 and n={n}")
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At k = 0 and k = n the bound is exactly 0 or 1; floating point can miss it by an ulp.
    low = 0.0 if k == 0 else max(0.0, centre - half_width)
    high = 1.0 if k == n else min(1.0, centre + half_width)
    return low, high
