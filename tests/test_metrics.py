"""Statistics behind the acceptance rate and the per-cell metrics."""

import math

import pytest

from zoo.metrics import cell_metrics, clopper_pearson
from zoo.optimizer import Outcome


def test_clopper_pearson_matches_exact_reference_values():
    # Reference: the exact binomial interval for 5 successes in 100 trials is (0.016432, 0.112835).
    lo, hi = clopper_pearson(5, 100)
    assert lo == pytest.approx(0.0164319, rel=1e-4) and hi == pytest.approx(0.1128349, rel=1e-4)


def test_zero_accepted_gives_the_closed_form_upper_bound():
    for n in (10, 1000, 10**8):
        lo, hi = clopper_pearson(0, n)
        assert lo == 0.0
        assert hi == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-6)


def test_all_accepted_gives_the_closed_form_lower_bound():
    lo, hi = clopper_pearson(20, 20)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 20), rel=1e-6)


def test_interval_covers_the_rate_for_tiny_rates():
    lo, hi = clopper_pearson(3, 10**9)
    assert lo < 3e-9 < hi and hi < 1e-8


def test_cell_metrics_summarize_models_and_acceptance():
    outcome = Outcome([0.5, 0.7, 0.9], [1.0] * 3, [0.31, 0.32, 0.33], {"tested": 300, "accepted": 3})
    m = cell_metrics(outcome, wall_time=2.0)
    assert m["models"] == 3
    assert m["test_acc"]["mean"] == pytest.approx(0.7)
    assert m["test_acc"]["std"] == pytest.approx(math.sqrt(((0.2) ** 2 * 2) / 3))
    assert m["test_acc"]["min"] == 0.5 and m["test_acc"]["max"] == 0.9
    assert m["acceptance"]["rate"] == pytest.approx(0.01)
    assert m["acceptance"]["ci_low"] < 0.01 < m["acceptance"]["ci_high"]
    assert m["throughput"] == 150.0
