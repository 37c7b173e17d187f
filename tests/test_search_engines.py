"""The fast ways to evaluate a local search's candidates against the reference design, on real data.

LeNet's single-coordinate moves (:mod:`zoo.models.lenet_moves`) must give the
logits and norm scales of a full forward pass of the moved copy, and a
pattern search must take the same steps and reach the same point whichever
evaluation it uses: incremental moves, shared features or the reference
design (every candidate a full model on all samples).
"""

import pytest
import torch

from zoo.models.lenet import LeNet
from zoo.models.lenet_moves import one_channel
from zoo.optimizer import Context
from zoo.optimizers.pattern_search import PatternSearch
from zoo.tasks.cifar10 import CIFAR10
from zoo.tasks.mnist import MNIST


def every_block(model, gen, per_block=12):
    """Coordinates from every parameter block (its first, its last and random ones) and signed steps for them."""
    index, start = [], 0
    for block in model.blocks:
        picks = torch.randint(start, start + block.numel, (per_block - 2,), generator=gen)
        index.append(torch.cat([torch.tensor([start, start + block.numel - 1]), picks]))
        start += block.numel
    index = torch.cat(index)
    steps = torch.tensor([1.0, -1.0, 0.5, -0.25])[torch.randint(0, 4, (len(index),), generator=gen)]
    return index, steps


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "torch"])
@pytest.mark.parametrize("task", ["mnist", "cifar10"])
def test_lenet_single_moves_equal_a_full_forward_pass_of_the_moved_copies(task, compiled, mnist_root):
    """Both the compiled kernel of fc1 moves and its torch counterpart (the path on a GPU)."""
    problem = (MNIST("all") if task == "mnist" else CIFAR10("all")).sample(20, 0)
    model = LeNet(problem.input_shape, 10, width=1.0)
    gen = torch.Generator().manual_seed(1)
    point = model.init_uniform(1, 1.0, gen)
    moved = model.single_moves(point, problem.x_train)
    assert moved.kernel is not None  # this machine has a C compiler
    if not compiled:
        moved.kernel = None
    index, delta = every_block(model, gen)
    logits, scale = moved.evaluate(index, delta)
    copies = point.repeat(len(index), 1)
    copies[torch.arange(len(index)), index] += delta
    full = model.forward(copies, problem.x_train)
    torch.testing.assert_close(logits, full, rtol=1e-5, atol=1e-5 * float(full.abs().max()))
    torch.testing.assert_close(scale, model.norm_scale(copies), rtol=1e-6, atol=0)
    torch.testing.assert_close(moved.logits, model.forward(point, problem.x_train), rtol=1e-5, atol=1e-5 * float(full.abs().max()))
    # a bias move on an fc1 unit that no sample activates changes nothing: the point's logits to the bit
    dead = (moved.a1 < -2.0).all(0).nonzero().flatten()
    assert len(dead) > 0
    bias = model.head_start + model.blocks[4].numel + dead
    same, same_scale = moved.evaluate(bias, torch.full((len(dead),), -1.0))
    assert torch.equal(same, moved.logits.expand_as(same)) and torch.equal(same_scale, moved.scale.expand(len(dead)))


@pytest.mark.parametrize("task", ["mnist", "cifar10"])
def test_one_conv_channel_equals_conv2d(task, mnist_root):
    """The channel a step computes again: on the input (1 or 3 channels) and on a strided slice of pooled conv1 output."""
    x = (MNIST("all") if task == "mnist" else CIFAR10("all")).sample(20, 0).x_train
    weight, bias = torch.randn(6, x.shape[1], 5, 5, generator=torch.Generator().manual_seed(0)), torch.tensor(0.3)
    pooled = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(x, weight)), 2)[:, 1:5]  # a view
    for inputs, w in ((x, weight[2]), (pooled, torch.randn(4, 5, 5))):
        full = torch.nn.functional.conv2d(inputs, w.unsqueeze(0), bias.view(1))[:, 0]
        torch.testing.assert_close(one_channel(inputs, w, bias), full, rtol=1e-5, atol=1e-6 * float(full.abs().max()))


def searches(problem, width, **params):
    """The same pattern search with incremental moves, with shared features and with the reference design."""
    runs = {}
    for name in ("moves", "shared", "reference"):
        model = LeNet(problem.input_shape, problem.num_classes, width=width)
        if name == "shared":
            model.single_moves = None  # no incremental moves: the dense head on the point's features
        search, records = PatternSearch(engine="reference" if name == "reference" else "fast", **params), []
        outcome = search.run(problem, model, Context(seed=5, keep_params=True, progress=lambda **c: records.append(c)))
        runs[name] = (outcome, records)
    return runs


def assert_same_search(runs):
    (base, base_rounds), *others = runs.values()
    for outcome, rounds in others:
        assert [(r["steps"], r["train_acc"], r["step"]) for r in rounds] == [(r["steps"], r["train_acc"], r["step"]) for r in base_rounds]
        assert [r["loss"] for r in rounds] == pytest.approx([r["loss"] for r in base_rounds], rel=1e-5)
        drop = ("seconds", "head_evals")
        assert {k: v for k, v in outcome.counters.items() if k not in drop} == {k: v for k, v in base.counters.items() if k not in drop}


def test_every_evaluation_takes_the_same_steps_on_ten_class_mnist(mnist_root):
    runs = searches(MNIST("all").sample(30, 0), 1.0, population=60, max_steps=25)
    assert_same_search(runs)
    assert runs["moves"][0].counters["steps"] == 25 and runs["shared"][0].counters["head_evals"] > 0


def test_every_evaluation_reaches_the_same_fitted_point(mnist_root):
    """Two-class MNIST, n = 12: each search fits (38 steps), and the three final points agree."""
    runs = searches(MNIST().sample(12, 0), 0.5, population=100, check_every=1, step=0.5, max_steps=300)
    assert_same_search(runs)
    points = [outcome.params for outcome, _ in runs.values()]
    assert all(p is not None and len(p) == 1 for p in points) and runs["moves"][0].train_acc == [1.0]
    assert runs["moves"][0].counters["steps"] > 30
    for p in points[1:]:
        assert torch.equal(p, points[0])  # the same moves from the same start: the same float32 point


def test_activations_kept_from_the_previous_point_equal_a_fresh_computation(mnist_root):
    """After a step only the changed channels or units, and the layers after them, are computed again."""
    problem = MNIST("all").sample(20, 0)
    model = LeNet(problem.input_shape, 10, width=1.0)
    point = model.init_uniform(1, 1.0, torch.Generator().manual_seed(2))
    before = model.single_moves(point, problem.x_train)
    conv2_bias = model.blocks[0].numel + model.blocks[1].numel + model.blocks[2].numel + 3
    fc2 = model.head_start + model.blocks[4].numel + model.blocks[5].numel + 300
    for index in (7, 150 + 4, 200, conv2_bias, model.head_start + 5, fc2, model.num_params - 1):
        moved = point.clone()
        moved[0, index] += 0.5
        kept, fresh = model.single_moves(moved, problem.x_train, before), model.single_moves(moved, problem.x_train)
        for name in ("pre1", "pool1", "pre2", "feat", "a1", "a2", "logits"):
            # float32 rounding, up to a few units in the last place of the layer's largest value (e.g. 2.7e3 for a2)
            scale = float(getattr(fresh, name).abs().max())
            torch.testing.assert_close(getattr(kept, name), getattr(fresh, name), rtol=1e-5, atol=2e-6 * scale)
        for name in ("pre1", "pool1", "pre2", "feat"):  # the layers before the changed one are the previous point's
            assert getattr(kept, name) is getattr(before, name) or index < model.head_start


def test_random_greedy_search_takes_the_same_steps_with_either_engine(mnist_root):
    """Gaussian moves drawn in the same chunks whichever engine evaluates them: the same search, round for round."""
    from zoo.optimizers.random_greedy import RandomGreedySearch

    problem, runs = MNIST().sample(40, 0), []
    for engine in ("fast", "reference"):
        records = []
        search = RandomGreedySearch(population=150, max_steps=8, engine=engine)
        search.run(problem, LeNet(problem.input_shape, 2, width=0.5), Context(seed=3, progress=lambda **c: records.append(c)))
        runs.append(records)
    fast, reference = runs
    assert [(r["steps"], r["step"]) for r in fast] == [(r["steps"], r["step"]) for r in reference] and fast[-1]["steps"] > 2
    assert [r["loss"] for r in fast] == pytest.approx([r["loss"] for r in reference], rel=1e-5)
