"""Fully connected ReLU network."""

from __future__ import annotations

import math

import torch

from zoo.hookspecs import hookimpl
from zoo.models.layers import dense, dense_shared, fan_out_bounds
from zoo.models.probes import DenseProbe
from zoo.population import ParamBlock, PopulationModel, frobenius
from zoo.registry import Param, PluginSpec


class MLP(PopulationModel):
    """``layers`` hidden ReLU layers of ``hidden`` units; scale = product of ||W_l||_F.

    ``hidden_bias = False`` is the reference's MLP: no bias in the hidden
    layers, one bias on the output.
    """

    def __init__(self, input_shape, num_classes, hidden=20, layers=1, hidden_bias=True):
        if hidden < 1 or layers < 1:
            raise ValueError("mlp needs hidden >= 1 and layers >= 1")
        self.input_shape, self.num_classes = tuple(input_shape), num_classes
        widths = [math.prod(self.input_shape)] + [hidden] * layers + [num_classes]
        self.depth = len(widths) - 1
        blocks = []
        for i, (d_in, d_out) in enumerate(zip(widths, widths[1:])):
            blocks.append(ParamBlock(f"w{i}", (d_out, d_in), d_in, True))
            if hidden_bias or i == self.depth - 1:
                blocks.append(ParamBlock(f"b{i}", (d_out,), d_in, False))
        self.blocks = tuple(blocks)

    def bias_name(self, i: int) -> str | None:
        """The name of layer ``i``'s bias block, or None when the layer has none."""
        return f"b{i}" if any(b.name == f"b{i}" for b in self.blocks) else None

    def bias(self, p: dict, i: int, w: torch.Tensor) -> torch.Tensor:
        """Layer ``i``'s bias ``[M, out]``; zeros for a layer without one."""
        name = self.bias_name(i)
        return p[name] if name else w.new_zeros(w.shape[:2])

    def init_regular(self, m, generator=None, device="cpu"):
        """The reference's "regular" rule: weights U[-1/sqrt(fan_out), 1/sqrt(fan_out)], biases U[-1, 1]."""
        return self.init_bounded(m, fan_out_bounds(self.blocks), generator, device)

    def forward(self, theta, x):
        p = self.unflatten(theta)
        h = dense_shared(x.flatten(1), p["w0"], self.bias(p, 0, p["w0"]))
        for i in range(1, self.depth):
            h = dense(torch.relu(h), p[f"w{i}"], self.bias(p, i, p[f"w{i}"]))
        return h

    def probe(self, x):
        return DenseProbe(self, x, [(f"w{i}", self.bias_name(i) or f"zero{i}") for i in range(self.depth)])

    def norm_scale(self, theta):
        p = self.unflatten(theta)
        scale = frobenius(p["w0"])
        for i in range(1, self.depth):
            scale = scale * frobenius(p[f"w{i}"])
        return scale


@hookimpl
def zoo_models():
    return [PluginSpec("mlp", MLP, {
        "hidden": Param(20, "units per hidden layer"),
        "layers": Param(1, "hidden layers"),
        "hidden_bias": Param(True, "biases in the hidden layers; false: the reference's MLP, with one output bias only"),
    }, "fully connected ReLU network")]
