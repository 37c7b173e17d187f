"""Pattern search on real tasks: monotone descent, step halving after a full pass, fitting, seeds."""

from dataclasses import replace

import pytest
import torch

from local_search_support import KINK, LENET, MNIST_PAIR, NEVER, TINY_MLP, assert_monotone, assert_reproducible, run_recorded
from zoo.models.lenet import LeNet
from zoo.models.mlp import MLP
from zoo.optimizer import Context
from zoo.optimizers.pattern_search import CoordinateMoves, PatternSearch
from zoo.optimizers.random_greedy import RandomGreedySearch
from zoo.registry import default_registry
from zoo.tasks.mnist import MNIST


def test_a_pass_visits_every_signed_coordinate_once():
    gen = torch.Generator().manual_seed(0)
    moves, point = CoordinateMoves(0.25, 0.5, 7, gen), torch.arange(7.0).view(1, 7) / 8  # exact in float32
    seen = []
    while len(batch := moves.propose(point, 3)):
        diff = batch - point
        assert ((diff != 0).sum(1) == 1).all()
        seen += [(int(d.nonzero()), float(d[d != 0])) for d in diff]
    assert sorted(seen) == sorted((i, s) for i in range(7) for s in (0.25, -0.25))
    moves.stalled()
    assert moves.step == 0.125 and moves.shrinks == 1 and moves.position == 0


def test_reduces_the_loss_monotonically_and_fits_a_few_mnist_samples(mnist_root):
    outcome, records, *_ = run_recorded("pattern_search", MNIST_PAIR, LENET, n=16, population=100)
    assert_monotone(records)
    assert records[-1]["loss"] < records[0]["loss"]
    assert outcome.train_acc == [1.0] and outcome.counters["accepted"] == 1 and outcome.counters["tested"] == 1
    assert outcome.counters["steps"] == records[-1]["steps"] and outcome.counters["forward_evals"] == records[-1]["evals"]
    assert 0.5 < outcome.test_acc[0] <= 1.0


def test_reference_population_fits_eight_samples(mnist_root):
    outcome, records, *_ = run_recorded("pattern_search", MNIST_PAIR, LENET, n=8)
    assert outcome.train_acc == [1.0]
    assert records[0]["evals"] == 1 + 10_000 // 8 - 1  # the first round: the reference's 10,000 // n models


def test_step_halves_exactly_after_a_full_pass_without_improvement():
    outcome, records, net, _ = run_recorded("pattern_search", KINK, TINY_MLP, n=16, loss_bin=NEVER, population=8, max_evals=3000)
    moves_per_pass = 2 * net.num_params
    anchor, steps, step, halvings = 1, 0, 1.0, 0
    for r in records:
        if r["steps"] > steps:
            assert r["step"] == step
            anchor = r["evals"]
        elif r["step"] != step:
            assert r["step"] == step / 2 and r["evals"] - anchor == moves_per_pass
            anchor, halvings = r["evals"], halvings + 1
        else:
            assert r["evals"] - anchor < moves_per_pass
        steps, step = r["steps"], r["step"]
    assert halvings >= 3 and outcome.counters["shrinks"] == halvings


def test_stops_once_the_step_falls_below_min_step():
    outcome, records, *_ = run_recorded("pattern_search", KINK, TINY_MLP, n=16, loss_bin=NEVER, population=8, min_step=0.01)
    assert records[-1]["step"] < 0.01 <= records[-2]["step"]
    assert outcome.counters["shrinks"] == 7 and outcome.counters["accepted"] == 0


def test_reproducible_from_the_seed(mnist_root):
    assert_reproducible("pattern_search", population=100)


def test_reports_only_fitted_searches_and_restarts_those_that_do_not_fit():
    outcome, _, net, _ = run_recorded("pattern_search", KINK, {"name": "mlp", "hidden": 8}, n=16, population=20,
                                      max_steps=12, target=3, max_runs=8, check_every=1, objective="cross_entropy")
    c = outcome.counters
    assert outcome.params.shape == (3, net.num_params) and outcome.train_acc == [1.0] * 3 and len(outcome.test_acc) == 3
    assert c["accepted"] == 3 and 3 < c["tested"] < 8  # some searches fail within 12 steps, but not five of them
    assert c["restarts"] == c["tested"] - 3  # every search that did not fit was followed by a fresh one
    assert c["unfitted_best_train_acc"] < 1.0


def contradicted(problem):
    """The training set plus its first point again with another label: no model can fit it."""
    return replace(problem, x_train=torch.cat([problem.x_train, problem.x_train[:1]]),
                   y_train=torch.cat([problem.y_train, 1 - problem.y_train[:1]]))


def test_a_search_that_cannot_fit_reports_no_model_and_every_restart():
    problem = contradicted(default_registry().get("task", "kink").build().sample(12, 0))
    model = MLP(problem.input_shape, 2, hidden=8)
    for search in (PatternSearch(population=20, max_steps=40, target=1, max_runs=4),
                   RandomGreedySearch(population=20, max_steps=40, target=1, max_runs=4)):
        outcome = search.run(problem, model, Context(seed=0, keep_params=True))
        c = outcome.counters
        assert outcome.test_acc == [] and outcome.params is None
        assert (c["tested"], c["accepted"], c["restarts"]) == (4, 0, 3)
        assert 0.5 <= c["unfitted_best_train_acc"] < 1.0
        assert 0 < c["steps"] <= 4 * 40


def test_accuracy_checked_on_the_reference_cadence_so_the_search_goes_on_after_it_fits():
    assert PatternSearch(max_steps=80_000).check_every == 800 and RandomGreedySearch(max_steps=80_000).check_every == 266
    first, cadence = (run_recorded("pattern_search", KINK, {"name": "mlp", "hidden": 8}, n=16, population=20,
                                   objective="cross_entropy", check_every=every) for every in (1, 25))
    fit_at = first.outcome.counters["steps"]
    assert first.outcome.train_acc == [1.0] and 0 < fit_at
    steps = cadence.outcome.counters["steps"]
    assert steps % 25 == 0 and steps >= fit_at
    # the same search up to the first fit (same random stream), then it keeps lowering the normalized loss
    assert [r["loss"] for r in cadence.records[: len(first.records)]] == [r["loss"] for r in first.records]
    assert cadence.outcome.train_acc == [1.0] and cadence.records[-1]["loss"] < first.records[-1]["loss"]
    assert min(r["steps"] for r in cadence.records if r["train_acc"] == 1.0) == fit_at


def test_lenet_head_on_shared_features_matches_the_full_forward_pass():
    for shape, classes in (((1, 28, 28), 10), ((3, 32, 32), 2)):
        model = LeNet(shape, classes, width=1.0)
        gen = torch.Generator().manual_seed(3)
        point = model.init_uniform(1, 1.0, gen)
        heads = point.repeat(5, 1)
        heads[:, model.head_start:] = model.init_uniform(5, 1.0, gen)[:, model.head_start:]
        x = torch.randn(7, *shape, generator=gen)
        full = model.forward(heads, x)
        shared = model.head(heads, model.features(point, x)[0])
        torch.testing.assert_close(shared, full, rtol=1e-5, atol=1e-5 * float(full.abs().max()))
