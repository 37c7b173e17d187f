"""Guess & Check: the fast judge accepts exactly what the reference judge accepts,
and results depend on the cell seed only (not on chunk size, threads or engine)."""

from __future__ import annotations

import pytest
import torch

from zoo.evaluate import accepted
from zoo.guessing import native, philox
from zoo.guessing.early import EarlyRejectionJudge, class_interleaved, stages
from zoo.guessing.engines import make_judge
from zoo.guessing.reference import ReferenceJudge, fit_and_loss
from zoo.guessing.search import search
from zoo.guessing.stream import ParameterStream
from zoo.models.lenet import LeNet
from zoo.models.linear import Linear
from zoo.models.mlp import MLP
from zoo.optimizer import Context
from zoo.optimizers import lenet_gradient
from zoo.optimizers.guess_check import GuessAndCheck, zoo_optimizers
from zoo.tasks.mnist import MNIST
from zoo.tasks.toys import Toy2D, sample_kink

SIZES = (1, 2, 3, 4, 5, 7, 8, 11, 16, 23, 32)


def mnist_pool(mnist_root, n=32, seed=0):
    """n real MNIST training samples of one class pair, in a shuffled order."""
    problem = MNIST(source="folder").sample(n, seed)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return problem.x_train[order], problem.y_train[order]


def kink_pool(n=32, seed=0):
    problem = Toy2D(sample_kink, 0.25).sample(n, seed)
    return problem.x_train, problem.y_train


def cases(mnist_root):
    x_mnist, y_mnist = mnist_pool(mnist_root)
    x_kink, y_kink = kink_pool()
    return [
        ("lenet", LeNet((1, 28, 28), 2, width=0.5), x_mnist, y_mnist, 128),
        ("linear", Linear((1, 28, 28), 2), x_mnist, y_mnist, 4096),
        ("mlp", MLP((2,), 2, hidden=20), x_kink, y_kink, 4096),
    ]


def planted_labels(model, theta, x, y, n, salt):
    """The real labels, or the predictions of one guess of the chunk, so that large n still has fits."""
    if salt % 2 == 0:
        return y[:n]
    return model.forward(theta[salt : salt + 1], x[:n]).argmax(-1)[0]


def with_ties(model, theta):
    """Give a few guesses identical last-layer rows: their logits tie exactly on every sample."""
    views = model.unflatten(theta)
    last_w, last_b = list(views)[-2:]
    views[last_w][:4, 1] = views[last_w][:4, 0]
    views[last_b][:4, 1] = views[last_b][:4, 0]
    return theta


def bins_around(model, theta, x, y):
    """No bin; a bin around the fits' losses; a bin with an edge exactly on one fit's loss."""
    acc, loss = fit_and_loss(model, theta, x, y)
    fits = loss[acc >= 1].sort().values
    if len(fits) < 3:
        return [None, (0.3, 0.65)]
    middle = fits[len(fits) // 2].item()
    return [None, (fits[0].item() * 0.99, middle), (middle, fits[-1].item())]


def test_fast_judge_accepts_exactly_what_the_reference_accepts(mnist_root):
    checked, accepted_total, edge_cases = 0, 0, 0
    for name, model, x, y, guesses in cases(mnist_root):
        stream = ParameterStream(model.num_params, 1.0, seed=len(name))
        for n in SIZES:
            theta = with_ties(model, stream.take(n * guesses, guesses))
            labels = planted_labels(model, theta, x, y, n, salt=n)
            for loss_bin in bins_around(model, theta, x[:n], labels):
                reference = ReferenceJudge(model, x[:n], labels, loss_bin)
                fast = EarlyRejectionJudge(model, x[:n], labels, loss_bin)
                expected = reference(theta)
                assert torch.equal(fast(theta), expected), f"{name}, n={n}, bin={loss_bin}"
                if fast.kernel is not None:  # LeNet: the compiled judge above; now the torch stages (the GPU path)
                    fast.kernel = None
                    assert torch.equal(fast(theta), expected), f"{name} torch stages, n={n}, bin={loss_bin}"
                checked += 1
                accepted_total += len(expected)
                edge_cases += loss_bin is not None and len(expected) > 0
    assert checked >= 3 * len(SIZES) * 2
    assert accepted_total > 100 and edge_cases > 10  # the comparison is not vacuous


def test_other_lenet_shapes_ten_classes_three_channels(mnist_root):
    """The compiled judge is built per shape: 3x32x32 inputs (MNIST padded, channels repeated), width 1, 10 classes."""
    problem = MNIST(source="folder", classes="all").sample(32, 0)
    x = torch.nn.functional.pad(problem.x_train, (2, 2, 2, 2)).repeat(1, 3, 1, 1)
    model = LeNet((3, 32, 32), 10, width=1.0)
    theta = ParameterStream(model.num_params, 1.0, seed=0).take(0, 256)
    for n in (1, 3, 10, 17):
        labels = model.forward(theta[5:6], x[:n]).argmax(-1)[0]
        for loss_bin in (None, (0.0, 5.0)):
            fast = EarlyRejectionJudge(model, x[:n], labels, loss_bin)
            expected = ReferenceJudge(model, x[:n], labels, loss_bin)(theta)
            assert fast.kernel is not None and 5 in expected.tolist()
            assert torch.equal(fast(theta), expected), (n, loss_bin)


def test_an_exact_tie_is_decided_by_the_reference():
    x, y = kink_pool(n=4)
    model = MLP((2,), 2, hidden=20)
    theta = with_ties(model, ParameterStream(model.num_params, 1.0, seed=3).take(0, 64))
    for labels in (torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)):
        reference = ReferenceJudge(model, x, labels, None)
        hits = EarlyRejectionJudge(model, x, labels, None)(theta)
        assert torch.equal(hits, reference(theta))
        tied = hits[hits < 4].tolist()
        assert tied == ([0, 1, 2, 3] if labels[0] == 0 else [])  # argmax takes the first of equal logits


def test_decisions_do_not_depend_on_the_rest_of_the_batch(mnist_root):
    """Even with a bin edge exactly on a guess's float32 loss, where batched products may round differently."""
    x, y = mnist_pool(mnist_root, n=7)
    model = Linear((1, 28, 28), 2)
    theta = ParameterStream(model.num_params, 1.0, seed=1).take(0, 4096)
    labels = model.forward(theta[:1], x).argmax(-1)[0]
    for loss_bin in bins_around(model, theta, x, labels)[1:]:
        for judge in (ReferenceJudge(model, x, labels, loss_bin), EarlyRejectionJudge(model, x, labels, loss_bin)):
            hits = judge(theta)
            assert len(hits) > 2
            for pick in (hits[:1], hits[1:3], torch.cat([hits, torch.arange(40)]).unique()):
                assert torch.equal(pick[judge(theta[pick])], pick[torch.isin(pick, hits)])


def test_philox_known_answers_and_both_implementations_agree():
    """The Random123 known-answer vectors; the C kernel and the torch operations give the same stream."""
    vectors = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((2**32 - 1,) * 4, (2**32 - 1,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0), (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for counter, (k0, k1), expected in vectors:
        assert philox.philox_words(torch.tensor(counter), k0 | k1 << 32).tolist() == list(expected)
    assert native.philox_fill() is not None  # this machine has a C compiler
    key, first = 2**63 - 12345, 2**33 + 5  # guess numbers past 2^32 use the counter's third word
    compiled = philox.fill(torch.empty(37, 1003), first, key, 0.7)
    assert torch.equal(compiled, philox.fill_torch(torch.empty(37, 1003), first, key, 0.7))


@pytest.mark.parametrize("generator", ["philox", "torch"])
def test_guess_i_depends_on_the_seed_and_i_only(generator):
    stream = ParameterStream(1000, 0.5, seed=7, generator=generator)
    block = max(stream.block, 64)
    whole = stream.take(0, 3 * block)
    assert torch.equal(stream.take(5, 40), whole[5:45])
    assert torch.equal(stream.fill(torch.empty(block, 1000), block), whole[block : 2 * block])
    assert not torch.equal(ParameterStream(1000, 0.5, seed=8, generator=generator).take(0, 4), whole[:4])
    grid = whole / (2 * 0.5 / 2**24)  # every value on the 24-bit grid of [-r, r)
    assert torch.equal(grid, grid.round()) and whole.min() >= -0.5 and whole.max() < 0.5
    assert abs(whole.mean().item()) < 0.01 and abs(whole.var().item() - 1 / 12) < 0.005


def test_search_counts_guesses_up_to_the_last_needed_acceptance():
    x, y = kink_pool(n=6)
    model = MLP((2,), 2, hidden=8)
    stream = ParameterStream(model.num_params, 1.0, seed=11)
    reference = ReferenceJudge(model, x, y, None)
    all_hits = reference(stream.take(0, 20000))
    target = 7
    result = search(stream, make_judge("fast", model, x, y, None), target=target, max_guesses=20000, chunk=100, workers=2)
    assert result.tested == int(all_hits[target - 1]) + 1
    assert torch.equal(result.theta, stream.take(0, 20000)[all_hits[:target]])
    short = search(stream, reference, target=10**6, max_guesses=999, chunk=512)
    assert short.tested == 999 and len(short.theta) == int((all_hits < 999).sum())


def run_cell(model, problem, loss_bin, **params):
    ctx = Context(seed=5, loss_bin=loss_bin, keep_params=True)
    return GuessAndCheck(target=6, max_guesses=300_000, **params).run(problem, model, ctx)


@pytest.mark.parametrize("loss_bin", [None, (0.45, 0.65)])
def test_outcome_is_the_same_whatever_engine_chunk_or_threads(mnist_root, loss_bin):
    problem = MNIST(source="folder").sample(4, 2)
    model = LeNet((1, 28, 28), 2, width=0.5)
    runs = [run_cell(model, problem, loss_bin, **params) for params in (
        {"engine": "reference", "batch": 200, "threads": 1},
        {"engine": "fast", "batch": 64, "threads": 1},
        {"engine": "fast", "batch": 0, "threads": 2},
    )]
    first = runs[0]
    assert first.counters["accepted"] == 6
    for other in runs[1:]:
        assert other.counters == first.counters
        assert other.test_acc == first.test_acc and other.train_loss == first.train_loss
        assert torch.equal(other.params, first.params)
    acc, loss = fit_and_loss(model, first.params, problem.x_train, problem.y_train)
    assert accepted(acc, loss, loss_bin).all()


def test_fast_engine_falls_back_to_the_reference_for_unknown_models():
    class Subclass(MLP):
        pass

    class Declaring(MLP):
        probe = MLP.probe  # its own class declares the probe: the engine takes it

    x, y = kink_pool(n=4)
    assert isinstance(make_judge("fast", Subclass((2,), 2), x, y, None), ReferenceJudge)
    assert isinstance(make_judge("fast", Declaring((2,), 2), x, y, None), EarlyRejectionJudge)
    assert isinstance(make_judge("fast", MLP((2,), 2), x, y, None), EarlyRejectionJudge)


def test_a_lenet_subclass_gets_neither_the_probes_nor_the_kernels_of_lenet(mnist_root):
    """Capabilities count only where the model's own class declares them: a subclass may compute something else."""

    class Wider(LeNet):
        pass

    x, y = mnist_pool(mnist_root, n=4)
    judge = make_judge("fast", Wider((1, 28, 28), 2, width=0.5), x, y, None)
    assert isinstance(judge, ReferenceJudge) and judge.probe is None  # judged by its own forward pass
    assert lenet_gradient.kernels(Wider((1, 28, 28), 2, width=0.5)) is None
    lenet = LeNet((1, 28, 28), 2, width=0.5)
    assert make_judge("fast", lenet, x, y, None).kernel is not None  # this machine has a C compiler
    assert lenet_gradient.kernels(lenet) is not None


def test_sample_order_and_stages():
    y = torch.tensor([0, 0, 0, 1, 1, 2])
    assert y[class_interleaved(y)].tolist() == [0, 1, 2, 0, 1, 0]
    covered = [list(range(32))[s] for s in stages(32)]
    assert [len(c) for c in covered] == [2, 2, 4, 8, 16] and sum(covered, []) == list(range(32))
    assert [len(list(range(n))[s]) for n in (1, 3) for s in stages(n)] == [1, 2, 1]


def test_registered_parameters():
    (spec,) = zoo_optimizers()
    params = spec.resolve({"batch": 1024, "engine": "reference", "generator": "torch"})
    assert params["target"] == 10 and params["threads"] == 0
    spec.build(**params)
    with pytest.raises(ValueError, match="engine"):
        spec.resolve({"engine": "turbo"})
    with pytest.raises(ValueError, match="generator"):
        GuessAndCheck(generator="mt")


def test_the_drawing_kernel_writes_out_every_guess_it_does_not_reject(mnist_root):
    """The compiled judge draws each row into a scratch row and writes out only the guesses it keeps."""
    x, y = mnist_pool(mnist_root, n=4)
    model = LeNet((1, 28, 28), 2, width=0.5)
    judge = EarlyRejectionJudge(model, x, y, None)
    if judge.kernel is None:
        pytest.skip("no C compiler")
    stream = ParameterStream(model.num_params, 1.0, seed=3)
    theta = torch.full((1024, model.num_params), float("nan"))
    hits = judge.draw_and_judge(stream, theta, 2048)
    drawn = stream.take(2048, 1024)
    assert len(hits) > 0 and torch.equal(hits, judge(drawn.clone()))
    assert torch.equal(theta[hits], drawn[hits])
    written = ~theta.isnan().all(1)
    assert written[hits].all() and written.sum() < len(theta) // 2  # most guesses were rejected and never written
