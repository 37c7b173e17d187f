"""Linear classifier on flattened inputs."""

from __future__ import annotations

import math

from zoo.hookspecs import hookimpl
from zoo.models.layers import dense_shared, fan_out_bounds
from zoo.models.probes import DenseProbe
from zoo.population import ParamBlock, PopulationModel, frobenius
from zoo.registry import PluginSpec


class Linear(PopulationModel):
    """logits = W x + b; normalized-loss scale ||W||_F."""

    def __init__(self, input_shape, num_classes):
        self.input_shape, self.num_classes = tuple(input_shape), num_classes
        d = math.prod(self.input_shape)
        self.blocks = (
            ParamBlock("weight", (num_classes, d), d, True),
            ParamBlock("bias", (num_classes,), d, False),
        )

    def init_regular(self, m, generator=None, device="cpu"):
        """The reference's "regular" rule: weights U[-1/sqrt(fan_out), 1/sqrt(fan_out)], biases U[-1, 1]."""
        return self.init_bounded(m, fan_out_bounds(self.blocks), generator, device)

    def forward(self, theta, x):
        p = self.unflatten(theta)
        return dense_shared(x.flatten(1), p["weight"], p["bias"])

    def probe(self, x):
        return DenseProbe(self, x, [("weight", "bias")])

    def norm_scale(self, theta):
        return frobenius(self.unflatten(theta)["weight"])


@hookimpl
def zoo_models():
    return [PluginSpec("linear", Linear, {}, "linear classifier W x + b on flattened inputs")]
