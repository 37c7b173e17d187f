"""The statistics behind every comparison a report prints: known cases and coverage on synthetic data."""

import math

import numpy as np
import pytest

from zoo.metrics import clopper_pearson
from zoo.statistics import (DIFFERENT, EQUIVALENT, INCONCLUSIVE, log10_ratio, mean_difference, paired_difference,
                            pooled_rate, t_quantile)


@pytest.mark.parametrize("df, q975, q95", [(1, 12.7062, 6.3138), (3, 3.1824, 2.3534), (10, 2.2281, 1.8125), (30, 2.0423, 1.6973)])
def test_t_quantiles_match_the_tables(df, q975, q95):
    assert t_quantile(0.975, df) == pytest.approx(q975, abs=1e-4)
    assert t_quantile(0.95, df) == pytest.approx(q95, abs=1e-4)


def synthetic(rng, seeds, shift=0.0, seed_spread=5.0, noise=8.0):
    """Per-seed sums and counts of two optimizers whose seeds share an effect (the training set)."""
    effect = rng.normal(0, seed_spread, seeds)
    a_sums, a_counts, b_sums, b_counts = [], [], [], []
    for e in effect:
        na, nb = rng.integers(3, 11, 2)
        a_sums.append((70 + shift + e + rng.normal(0, 3) + rng.normal(0, noise, na)).sum())
        b_sums.append((70 + e + rng.normal(0, 3) + rng.normal(0, noise, nb)).sum())
        a_counts.append(na)
        b_counts.append(nb)
    return a_sums, a_counts, b_sums, b_counts


@pytest.mark.parametrize("seeds", [3, 10])
def test_the_95_percent_interval_covers_the_true_difference_about_95_percent_of_the_time(seeds):
    rng = np.random.default_rng(7)
    trials = 300
    covered = sum(
        (c := paired_difference(*synthetic(rng, seeds, shift=2.0), resamples=1000, seed=t)).low <= 2.0 <= c.high
        for t in range(trials)
    )
    assert 0.91 <= covered / trials <= 0.99


def test_the_same_data_give_the_same_interval_and_pairing_removes_the_shared_seed_effect():
    rng = np.random.default_rng(3)
    data = synthetic(rng, 8, shift=6.0, seed_spread=20.0, noise=1.0)
    first, again = paired_difference(*data), paired_difference(*data)
    assert first == again  # a fixed bootstrap seed: reports are reproducible
    # Each seed moves both optimizers by up to ±40 points; paired, the difference is still pinned near +6.
    assert 0 < first.low < 6 < first.high < 12 and first.excludes_zero and first.verdict == DIFFERENT
    unpaired = paired_difference(data[0], data[1], data[2][1:] + data[2][:1], data[3][1:] + data[3][:1])
    assert unpaired.high - unpaired.low > 3 * (first.high - first.low)


def test_tost_on_clear_cut_cases():
    same = mean_difference([80.0, 75.0, 90.0, 85.0, 70.0], [80.2, 74.9, 90.1, 84.8, 70.1], margin=3)
    assert same.verdict == EQUIVALENT and -3 < same.tost_low < same.tost_high < 3 and not same.excludes_zero
    apart = mean_difference([80.0, 75.0, 90.0, 85.0, 70.0], [70.1, 64.8, 80.2, 75.0, 60.1], margin=3)
    assert apart.verdict == DIFFERENT and apart.estimate == pytest.approx(9.96) and apart.low > 3
    noisy = mean_difference([80.0, 60.0, 90.0, 55.0], [60.0, 80.0, 55.0, 90.0], margin=3)
    assert noisy.verdict == INCONCLUSIVE and noisy.low < -3 and noisy.high > 3
    # a tiny but consistent difference is significant and still equivalent within a wide margin
    tiny = mean_difference([80.5, 75.5, 90.5, 85.5, 70.5], [80.0, 75.0, 90.0, 85.0, 70.0], margin=3)
    assert tiny.excludes_zero and tiny.verdict == EQUIVALENT


def test_a_single_seed_or_an_empty_side_gives_no_interval():
    one = paired_difference([160.0], [2], [150.0], [2])
    assert one.estimate == pytest.approx(5.0) and one.low is None and one.verdict == INCONCLUSIVE and one.seeds == 1
    empty = paired_difference([0.0, 0.0], [0, 0], [150.0, 80.0], [2, 1])
    assert empty.estimate is None and empty.verdict == INCONCLUSIVE
    partial = paired_difference([160.0, 0.0, 70.0], [2, 0, 1], [150.0, 80.0, 60.0], [2, 1, 1])
    assert partial.seeds == 2 and partial.estimate == pytest.approx(7.5)  # the seed without A's model drops out


def test_two_seeds_give_the_paired_t_interval():
    c = mean_difference([80.0, 70.0], [75.0, 69.0])  # per-seed differences 5 and 1
    half = 12.7062 * 2.0  # t(0.975, 1) × sd of the differences (2.83) / sqrt(2)
    assert c.estimate == pytest.approx(3.0) and c.low == pytest.approx(3.0 - half, rel=0.03)  # up to resampling noise


def test_pooled_rate_includes_the_spread_between_seeds():
    tight = pooled_rate([100, 100, 100, 100], [10_000] * 4)
    spread = pooled_rate([10, 400, 30, 300], [10_000] * 4)  # 740 of 40,000 pooled
    low, high = clopper_pearson(740, 40_000)
    assert spread.low < low / 2 and spread.high > high * 1.5  # far wider than one binomial over all seeds
    assert tight.low == pytest.approx(clopper_pearson(400, 40_000)[0])  # no spread: the exact interval stands
    assert pooled_rate([7], [1000]).low == clopper_pearson(7, 1000)[0]  # one seed: only the binomial noise is known
    nothing = pooled_rate([0, 0], [1000, 1000])
    assert nothing.accepted == 0 and nothing.low == 0 and nothing.high == clopper_pearson(0, 2000)[1]


def test_pooled_rate_covers_the_mean_rate_over_training_sets():
    rng = np.random.default_rng(11)
    covered, trials = 0, 200
    for t in range(trials):
        true = 10 ** rng.normal(-2, 0.3, 6)
        tested = np.full(6, 5000)
        rate = pooled_rate(rng.binomial(tested, true), tested, resamples=1000, seed=t)
        covered += rate.low <= 10 ** -2 * math.exp((0.3 * math.log(10)) ** 2 / 2) <= rate.high
    assert covered / trials >= 0.9


def test_log10_ratio_is_paired_and_open_ended_when_one_side_accepted_nothing():
    estimate, low, high = log10_ratio([20, 22], [2000, 2500], [2, 3], [20_000, 30_000])
    assert estimate == pytest.approx(math.log10((42 / 4500) / (5 / 50_000))) and low < estimate < high
    estimate, low, high = log10_ratio([20, 22], [2000, 2500], [0, 0], [20_000, 30_000])
    assert estimate is None and high is None
    assert 0 < low <= math.log10(clopper_pearson(42, 4500)[0]) - math.log10(clopper_pearson(0, 50_000)[1])
