"""Uncertainty of what the reports compare: paired bootstrap over data seeds, equivalence tests, pooled rates.

The unit that varies between two runs of a bench is the data seed (a seed
draws the training set, and the optimizer's stream derives from it), so every
interval here resamples seeds, never models: two models of one seed share
their training set and are not independent. Comparisons pair the cells of
two optimizers that share the matrix point and the seed. Resampling uses a
fixed generator seed, so a report prints the same intervals every time.

With few seeds the percentile bootstrap is far too narrow (it cannot reach
beyond the seeds it has); an interval here is the estimate ± Student's t
quantile for k − 1 degrees of freedom times the bootstrap standard error
widened by sqrt(k / (k − 1)), which is the paired t interval when the values
are per-seed means, and keeps its coverage with as few as two seeds.
docs/statistics.md explains each statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

LEVEL = 0.95
RESAMPLES = 10_000
BOOTSTRAP_SEED = 20230501  # fixed: the same store gives the same intervals
DEFAULT_MARGIN = 3.0  # equivalence margin in percentage points, unless the manifest sets one

EQUIVALENT, DIFFERENT, INCONCLUSIVE = "equivalent", "different", "inconclusive"


@lru_cache(maxsize=None)
def t_quantile(p: float, df: int) -> float:
    """Quantile of Student's t distribution with ``df`` degrees of freedom (0.5 < p < 1).

    The CDF is integrated with Simpson's rule and inverted by bisection: a few
    milliseconds, good to four digits, and no extra dependency.
    """
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density(t):
        return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))

    def cdf(t, steps=2000):
        h = t / steps
        total = density(0.0) + density(t) + sum((4 if i % 2 else 2) * density(i * h) for i in range(1, steps))
        return 0.5 + total * h / 3

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        lo, hi = hi, hi * 2
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def _interval(draws: np.ndarray, estimate: float, alpha: float, k: int) -> tuple[float, float]:
    """estimate ± t quantile × the bootstrap standard error, widened by sqrt(k / (k − 1)) for k seeds."""
    half = math.sqrt(k / (k - 1)) * t_quantile(1 - alpha / 2, k - 1) * float(np.std(draws))
    return estimate - half, estimate + half


@dataclass(frozen=True)
class Comparison:
    """A − B with its confidence interval and the equivalence verdict.

    ``estimate``, ``low``, ``high`` and ``margin`` are in the scale of the
    values given (the reports pass percentage points); ``tost_low`` and
    ``tost_high`` are the (1 − 2α) interval the two one-sided tests use.
    """

    estimate: float | None
    low: float | None
    high: float | None
    seeds: int
    margin: float
    verdict: str
    tost_low: float | None = None
    tost_high: float | None = None

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and (self.low > 0 or self.high < 0)


def verdict(low: float | None, high: float | None, tost_low: float | None, tost_high: float | None, margin: float) -> str:
    """Equivalent when the TOST interval lies inside ±margin; different when the CI excludes zero; else inconclusive."""
    if tost_low is not None and -margin < tost_low and tost_high < margin:
        return EQUIVALENT
    if low is not None and (low > 0 or high < 0):
        return DIFFERENT
    return INCONCLUSIVE


def paired_difference(a_sums, a_counts, b_sums, b_counts, margin: float = DEFAULT_MARGIN, level: float = LEVEL,
                      resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Comparison:
    """Mean over seeds of (A's mean − B's mean at that seed), with a paired bootstrap over seeds.

    Index i of every argument is one seed: the sum of A's values at that seed
    and how many there were, and the same for B. Seeds where a side has no
    value drop out. Every seed weighs the same, for A and B alike, so what a
    seed does to both (its training set) cancels; when both sides have the
    same number of values per seed this is also the difference of the means
    pooled over all values. A resample draws seeds with replacement.
    """
    a_sums, a_counts, b_sums, b_counts = (np.asarray(x, dtype=float) for x in (a_sums, a_counts, b_sums, b_counts))
    both = (a_counts > 0) & (b_counts > 0)
    diffs = a_sums[both] / a_counts[both] - b_sums[both] / b_counts[both]
    k = len(diffs)
    if k == 0:
        return Comparison(None, None, None, 0, margin, INCONCLUSIVE)
    estimate = float(diffs.mean())
    if k < 2:
        return Comparison(estimate, None, None, k, margin, INCONCLUSIVE)
    draws = diffs[np.random.default_rng(seed).integers(0, k, size=(resamples, k))].mean(1)
    alpha = 1 - level
    low, high = _interval(draws, estimate, alpha, k)
    tost_low, tost_high = _interval(draws, estimate, 2 * alpha, k)
    return Comparison(estimate, low, high, k, margin, verdict(low, high, tost_low, tost_high, margin), tost_low, tost_high)


def mean_difference(a_values, b_values, **kw) -> Comparison:
    """A − B of per-seed values (one value per seed and side), each seed weighing the same."""
    return paired_difference(a_values, np.ones(len(a_values)), b_values, np.ones(len(b_values)), **kw)


@dataclass(frozen=True)
class Rate:
    """An acceptance rate pooled over seeds with its confidence interval (``low`` 0 when nothing was accepted)."""

    accepted: int
    tested: int
    low: float
    high: float
    seeds: int

    @property
    def rate(self) -> float:
        return self.accepted / self.tested if self.tested else float("nan")


def pooled_rate(accepted, tested, level: float = LEVEL, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Rate:
    """Accepted / tested summed over seeds, with an interval that includes the spread between seeds.

    Two sources of uncertainty: the binomial noise of each seed's count, and
    the spread of the true rate between training sets. The exact
    Clopper–Pearson interval of the summed counts covers the first only; the
    bootstrap over seeds of the same ratio covers both but knows nothing with
    one seed or when nothing was accepted. The interval is the hull of the two.
    """
    from zoo.metrics import clopper_pearson

    accepted, tested = np.asarray(accepted, dtype=float), np.asarray(tested, dtype=float)
    total_a, total_t, k = int(accepted.sum()), int(tested.sum()), len(accepted)
    low, high = clopper_pearson(total_a, total_t, level)
    if k >= 2 and total_a > 0:
        picks = np.random.default_rng(seed).integers(0, k, size=(resamples, k))
        draws = accepted[picks].sum(1) / tested[picks].sum(1)
        draws = np.log(draws[draws > 0])  # on the log scale, where the reports print volumes
        if draws.size >= resamples / 2:
            b_low, b_high = _interval(draws, math.log(total_a / total_t), 1 - level, k)
            low, high = min(low, math.exp(b_low)), max(high, min(1.0, math.exp(b_high)))
    return Rate(total_a, total_t, low, high, k)


def log10_ratio(a_accepted, a_tested, b_accepted, b_tested, level: float = LEVEL, resamples: int = RESAMPLES,
                seed: int = BOOTSTRAP_SEED) -> tuple[float | None, float | None, float | None]:
    """log10(rate A / rate B) of rates pooled over paired seeds, with its interval.

    None for the estimate when a side accepted nothing. The interval is the
    hull of the paired bootstrap over seeds (the spread between seeds, which
    pairing partly cancels) and the conservative bound from the two exact
    Clopper–Pearson intervals of the summed counts (A's low end over B's high
    end and the reverse: the binomial noise); an end that would be infinite is None.
    """
    from zoo.metrics import clopper_pearson

    a_total, b_total = (int(sum(a_accepted)), int(sum(a_tested))), (int(sum(b_accepted)), int(sum(b_tested)))
    a, b = clopper_pearson(*a_total, level), clopper_pearson(*b_total, level)
    log = lambda p: math.log10(p) if p > 0 else -math.inf  # noqa: E731
    estimate = log(a_total[0] / a_total[1]) - log(b_total[0] / b_total[1]) if a_total[0] and b_total[0] else None
    low, high = log(a[0]) - log(b[1]), log(a[1]) - log(b[0])
    k = len(a_accepted)
    if estimate is not None and k >= 2:
        arrays = [np.asarray(x, dtype=float) for x in (a_accepted, a_tested, b_accepted, b_tested)]
        picks = np.random.default_rng(seed).integers(0, k, size=(resamples, k))
        ra, rb = (arrays[0][picks].sum(1) / arrays[1][picks].sum(1), arrays[2][picks].sum(1) / arrays[3][picks].sum(1))
        ok = (ra > 0) & (rb > 0)
        if ok.sum() >= resamples / 2:
            b_low, b_high = _interval(np.log10(ra[ok]) - np.log10(rb[ok]), estimate, 1 - level, k)
            low, high = min(low, b_low), max(high, b_high)
    finite = lambda v: v if math.isfinite(v) else None  # noqa: E731
    return estimate, finite(low), finite(high)


def _log10_mean(values: np.ndarray) -> np.ndarray:
    """log10 of the mean of 10**values along the last axis, without overflow."""
    top = values.max(axis=-1, keepdims=True)
    return np.log10(np.mean(10.0 ** (values - top), axis=-1)) + top[..., 0]


def pooled_log10_volume(values, lows, highs, level: float = LEVEL, resamples: int = RESAMPLES,
                        seed: int = BOOTSTRAP_SEED) -> tuple[float | None, float | None, float | None]:
    """log10 of the mean over seeds of volumes estimated per seed (log10 each, with an interval).

    The counterpart of :func:`pooled_rate` for estimators that give an
    interval instead of counts (``volume_ss``): the interval is the hull of
    the seeds' own intervals carried through the mean (each seed's
    uncertainty) and the bootstrap over seeds (the spread between training
    sets). A seed without an estimate (``None``: its estimator stalled) makes
    the result an upper bound: ``(None, None, high)``.
    """
    if not len(values):
        return None, None, None
    high = float(_log10_mean(np.asarray(highs, dtype=float)))
    if any(v is None for v in values) or any(v is None for v in lows):
        return None, None, high
    v = np.asarray(values, dtype=float)
    estimate, low = float(_log10_mean(v)), float(_log10_mean(np.asarray(lows, dtype=float)))
    k = len(v)
    if k >= 2:
        draws = _log10_mean(v[np.random.default_rng(seed).integers(0, k, size=(resamples, k))])
        b_low, b_high = _interval(draws, estimate, 1 - level, k)
        low, high = min(low, b_low), max(high, b_high)
    return estimate, low, min(high, 0.0)


def log10_volume_ratio(good: tuple, poisoned: tuple, level: float = LEVEL, resamples: int = RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float | None, float | None, float | None]:
    """log10(good / poisoned) of per-seed volume estimates paired by seed, with its interval.

    ``good`` and ``poisoned`` are ``(values, lows, highs)`` over the same
    seeds. The interval is the hull of the conservative bound (good's low end
    over poisoned's high end and the reverse) and the paired bootstrap over
    seeds. When the poisoned estimator stalled only the low end is known.
    """
    g, p = pooled_log10_volume(*good, level, resamples, seed), pooled_log10_volume(*poisoned, level, resamples, seed)
    low = g[1] - p[2] if g[1] is not None and p[2] is not None else None
    if g[0] is None or p[0] is None:
        return None, low, None
    estimate, high = g[0] - p[0], g[2] - p[1]
    k = len(good[0])
    if k >= 2:
        gv, pv = np.asarray(good[0], dtype=float), np.asarray(poisoned[0], dtype=float)
        picks = np.random.default_rng(seed).integers(0, k, size=(resamples, k))
        b_low, b_high = _interval(_log10_mean(gv[picks]) - _log10_mean(pv[picks]), estimate, 1 - level, k)
        low, high = min(low, b_low), max(high, b_high)
    return estimate, low, high
