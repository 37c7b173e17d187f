"""Pattern search on real tasks: monotone descent, step halving after a full pass, fitting, seeds."""

import torch

from local_search_support import KINK, LENET, MNIST_PAIR, NEVER, TINY_MLP, assert_monotone, assert_reproducible, run_recorded
from zoo.models.lenet import LeNet
from zoo.optimizer import Context
from zoo.optimizers.pattern_search import CoordinateMoves, PatternSearch
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


def test_restarts_report_every_final_point():
    outcome, _, net, _ = run_recorded("pattern_search", KINK, {"name": "mlp", "hidden": 8}, n=8, population=20, restarts=3)
    assert outcome.params.shape == (3, net.num_params) and len(outcome.test_acc) == 3
    assert outcome.counters["tested"] == 3 and outcome.counters["accepted"] == sum(a == 1.0 for a in outcome.train_acc)


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


def test_shared_features_follow_the_full_forward_path_step_for_step(mnist_root):
    """Pattern search with the feature stage computed once per point makes the same moves as without it."""
    problem = MNIST("all").sample(30, 0)
    results = []
    for shared in (True, False):
        model = LeNet(problem.input_shape, 10, width=1.0)
        if not shared:
            model.head_start = None  # every candidate through model.forward
        search = PatternSearch(population=60, max_steps=25)
        results.append(search.run(problem, model, Context(seed=5, keep_params=True)))
    fast, full = results
    assert fast.counters["steps"] == full.counters["steps"] == 25
    assert fast.counters["forward_evals"] == full.counters["forward_evals"]
    assert fast.counters["head_evals"] > 0.8 * fast.counters["forward_evals"] and full.counters["head_evals"] == 0
    assert torch.equal(fast.params, full.params)
    assert fast.test_acc == full.test_acc
