"""Per-cell metrics from an optimizer's outcome, and the statistics behind them."""

from __future__ import annotations

import math
import statistics

from zoo.optimizer import Outcome


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P[X <= k] for X ~ Binomial(n, p), summed in log space."""
    if p <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if k >= n else 0.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def _bisect(f, lo: float, hi: float) -> float:
    """Root of a decreasing f on [lo, hi], on a log scale for tiny rates."""
    for _ in range(200):
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return (lo + hi) / 2


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided confidence interval for a binomial rate k/n.

    With k = 0 the lower end is 0 and the upper end is 1 - (alpha/2)^(1/n),
    the bound to quote when no guess was accepted.
    """
    if n <= 0:
        return 0.0, 1.0
    alpha = 1 - level
    lower = 0.0 if k == 0 else _bisect(lambda p: alpha / 2 - (1 - _binom_cdf(k - 1, n, p)), 0.0, 1.0)
    upper = 1.0 if k == n else _bisect(lambda p: _binom_cdf(k, n, p) - alpha / 2, 0.0, 1.0)
    return lower, upper


def summarize(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {
        "mean": statistics.fmean(values),
        "std": statistics.pstdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def cell_metrics(outcome: Outcome, wall_time: float) -> dict:
    """Everything the store keeps about a finished cell (JSON-serializable)."""
    counters = {k: float(v) for k, v in outcome.counters.items()}
    metrics = {
        "models": len(outcome.test_acc),
        "test_acc": summarize(outcome.test_acc),
        "train_loss": summarize(outcome.train_loss),
        "train_acc": summarize(outcome.train_acc),
        "test_acc_values": list(outcome.test_acc),
        "train_loss_values": list(outcome.train_loss),
        "counters": counters,
        "wall_time": wall_time,
    }
    if outcome.diagnostics:
        metrics["diagnostics"] = outcome.diagnostics
    tested, accepted = counters.get("tested", 0.0), counters.get("accepted", 0.0)
    if math.isfinite(tested) and math.isfinite(accepted) and tested > 0:  # a plugin's NaN count is stored, not judged
        tested, accepted = int(tested), int(accepted)
        lo, hi = clopper_pearson(accepted, tested)
        metrics["acceptance"] = {"rate": accepted / tested, "ci_low": lo, "ci_high": hi, "tested": tested, "accepted": accepted}
        metrics["throughput"] = tested / wall_time if wall_time > 0 else None
    return metrics
