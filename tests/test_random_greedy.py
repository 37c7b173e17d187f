"""Random greedy search on real tasks: monotone descent, halving after `patience` failures, fitting, seeds."""

import pytest
import torch
import torch.nn.functional as F

from local_search_support import KINK, LENET, MNIST_PAIR, NEVER, TINY_MLP, assert_monotone, assert_reproducible, run_recorded
from zoo.evaluate import fit_and_loss
from zoo.optimizers.random_greedy import GaussianMoves


def test_candidates_are_the_point_plus_gaussian_noise_of_scale_r():
    moves = GaussianMoves(0.5, 0.5, 3, torch.Generator().manual_seed(0))
    point = torch.randn(1, 2000, generator=torch.Generator().manual_seed(1))
    noise = moves.propose(point, 50) - point
    assert noise.shape == (50, 2000)
    assert abs(float(noise.std()) - 0.5) < 0.01 and abs(float(noise.mean())) < 0.01
    for _ in range(2):
        moves.stalled()
    moves.improved()  # an improvement restarts the count of failures
    for _ in range(2):
        moves.stalled()
    assert moves.step == 0.5
    moves.stalled()
    assert moves.step == 0.25 and moves.failures == 0


def test_reduces_the_loss_monotonically_and_fits_a_few_mnist_samples(mnist_root):
    outcome, records, *_ = run_recorded("random_greedy", MNIST_PAIR, LENET, n=16, population=200)
    assert_monotone(records)
    assert records[-1]["loss"] < records[0]["loss"]
    assert outcome.train_acc == [1.0] and outcome.counters["accepted"] == 1
    assert outcome.counters["forward_evals"] == 1 + 200 * outcome.counters["rounds"]
    assert 0.5 < outcome.test_acc[0] <= 1.0


def test_radius_halves_after_patience_rounds_without_improvement():
    outcome, records, *_ = run_recorded("random_greedy", KINK, TINY_MLP, n=16, loss_bin=NEVER, population=8, patience=10, max_evals=3000)
    failures, steps, step, halvings = 0, 0, 1.0, 0
    for r in records:
        if r["steps"] > steps:
            assert r["step"] == step
            failures = 0
        else:
            failures += 1
            if r["step"] != step:
                assert r["step"] == step / 2 and failures == 10
                failures, halvings = 0, halvings + 1
            else:
                assert failures < 10
        steps, step = r["steps"], r["step"]
    assert halvings >= 3 and outcome.counters["shrinks"] == halvings


def test_reproducible_from_the_seed(mnist_root):
    assert_reproducible("random_greedy", population=50)


def test_minimizes_plain_cross_entropy_when_asked():
    outcome, records, net, problem = run_recorded("random_greedy", KINK, {"name": "mlp", "hidden": 8}, n=16, population=20,
                                                  objective="cross_entropy", check_every=1)
    assert outcome.train_acc == [1.0]
    assert_monotone(records)
    logits = net.forward(outcome.params, problem.x_train)[0]
    assert records[-1]["loss"] == pytest.approx(float(F.cross_entropy(logits, problem.y_train)), rel=1e-5)
    _, normalized = fit_and_loss(net, outcome.params, problem.x_train, problem.y_train)
    assert outcome.train_loss == pytest.approx(normalized.tolist())  # the store keeps the normalized loss either way
