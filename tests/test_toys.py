"""The 2-D toys in the reference's layout (the paper's Figures 2 and 3) and the reference's MLP."""

import numpy as np
import pytest
import torch

from zoo.guessing.probes import probe_for
from zoo.models.mlp import MLP
from zoo.tasks.toys import kink, slab


def test_reference_kink_splits_sixteen_points_into_eleven_and_four_on_two_curves():
    problem = kink(layout="reference").sample(16, 0)
    assert problem.x_train.shape == (11, 2) and problem.x_test.shape == (4, 2)  # int(0.7 n), int(0.3 n)
    for x, y in ((problem.x_train, problem.y_train), (problem.x_test, problem.y_test)):
        on_curve = -x[:, 0].abs() + 0.25 * (1 - y)  # class 1 on x2 = -|x1|, class 0 raised by the offset
        torch.testing.assert_close(x[:, 1], on_curve)
        assert bool((x[:, 0].abs() <= 1).all())
    train, test = ({tuple(p) for p in x.tolist()} for x in (problem.x_train, problem.x_test))
    assert not train & test
    again, other = kink(layout="reference").sample(16, 0), kink(layout="reference").sample(16, 1)
    assert torch.equal(again.x_train, problem.x_train) and not torch.equal(other.x_train, problem.x_train)
    assert kink(layout="reference", margin=0.5).sample(16, 0).x_train[:, 1].max() > 0.25


def test_reference_slab_has_four_alternating_slabs_and_splits_200_into_140_and_60():
    problem = slab(layout="reference").sample(200, 3)
    assert problem.x_train.shape == (140, 2) and problem.x_test.shape == (60, 2)
    x = torch.cat([problem.x_train, problem.x_test]).numpy()
    y = torch.cat([problem.y_train, problem.y_test]).numpy()
    assert (x[y == 1, 0] <= -0.1).all() and (x[y == 0, 0] >= 0.1).all()  # left class 1, right class 0
    slabs = [(0.65, 1.0, 1), (0.1, 0.45, 0), (-0.45, -0.1, 1), (-1.0, -0.65, 0)]  # top down, 0.35 high, gaps 0.2
    which = [next(k for k, (lo, hi, _) in enumerate(slabs) if lo - 1e-6 <= x2 <= hi + 1e-6) for x2 in x[:, 1]]
    assert all(slabs[k][2] == label for k, label in zip(which, y))
    assert len(set(which)) == 4
    assert not torch.equal(slab(layout="reference").sample(200, 4).x_train, problem.x_train)


def test_reference_layout_refuses_a_size_without_test_points():
    with pytest.raises(ValueError, match="n counts both"):
        kink(layout="reference").sample(3, 0)


def test_mlp_without_hidden_biases_has_one_output_bias():
    model = MLP((2,), 2, hidden=5, hidden_bias=False)
    assert [b.name for b in model.blocks] == ["w0", "w1", "b1"] and model.num_params == 10 + 10 + 2
    gen = torch.Generator().manual_seed(0)
    theta, x = model.init_uniform(4, 1.0, gen), torch.randn(9, 2, generator=gen)
    p = model.unflatten(theta)
    by_hand = torch.relu(x @ p["w0"].transpose(1, 2)) @ p["w1"].transpose(1, 2) + p["b1"].unsqueeze(1)
    torch.testing.assert_close(model.forward(theta, x), by_hand)
    torch.testing.assert_close(probe_for(model, x)(theta, slice(0, 9))[0], by_hand)  # Guess & Check's early-rejection path
    regular = model.init_regular(2000, gen)
    weights, bias = regular[:, :20], regular[:, 20:]
    assert float(weights[:, :10].abs().max()) <= 1 / np.sqrt(5) and float(weights[:, 10:].abs().max()) <= 1 / np.sqrt(2)
    assert 0.95 < float(bias.abs().max()) <= 1.0  # the output bias U[-1, 1]
