"""LeNet-5 with a width factor, for 1x28x28 or 3x32x32 inputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.hookspecs import hookimpl
from zoo.models.layers import dense, dense_shared, relu_pool2
from zoo.models.lenet_compiled import forward_kernel
from zoo.models.lenet_moves import LeNetMoves
from zoo.models.probes import GroupedLeNetProbe, LeNetProbe
from zoo.population import ParamBlock, PopulationModel, frobenius
from zoo.registry import Param, PluginSpec

WEIGHTS = ("conv1_w", "conv2_w", "fc1_w", "fc2_w", "fc3_w")


class LeNet(PopulationModel):
    """conv5-relu-pool, conv5-relu-pool, fc-relu, fc-relu, fc (no padding).

    Channel and unit counts are int(6w), int(16w), int(120w), int(84w).
    The normalized-loss scale is the product of ||W||_F / 3 over the five
    weight tensors; biases do not enter it.
    """

    def __init__(self, input_shape, num_classes, width=1.0):
        if len(input_shape) != 3:
            raise ValueError(f"lenet needs image inputs (channels, height, width), got shape {tuple(input_shape)}")
        channels, height, width_px = input_shape
        if height != width_px or height < 16:
            raise ValueError(f"lenet needs square inputs of at least 16x16, got {tuple(input_shape)}")
        c1, c2, f1, f2 = int(6 * width), int(16 * width), int(120 * width), int(84 * width)
        if min(c1, c2, f1, f2) < 1:
            raise ValueError(f"lenet width {width} leaves a layer with no units; use width >= 0.17")
        side = ((height - 4) // 2 - 4) // 2
        flat = c2 * side * side
        self.input_shape, self.num_classes = tuple(input_shape), num_classes
        self.sizes = (channels, c1, c2, side)
        self.blocks = (
            ParamBlock("conv1_w", (c1, channels, 5, 5), channels * 25, True),
            ParamBlock("conv1_b", (c1,), channels * 25, False),
            ParamBlock("conv2_w", (c2, c1, 5, 5), c1 * 25, True),
            ParamBlock("conv2_b", (c2,), c1 * 25, False),
            ParamBlock("fc1_w", (f1, flat), flat, True),
            ParamBlock("fc1_b", (f1,), flat, False),
            ParamBlock("fc2_w", (f2, f1), f1, True),
            ParamBlock("fc2_b", (f2,), f1, False),
            ParamBlock("fc3_w", (num_classes, f2), f2, True),
            ParamBlock("fc3_b", (num_classes,), f2, False),
        )
        self.head_start = sum(block.numel for block in self.blocks[:4])  # the dense layers follow the convolutions

    def kernel_constants(self) -> tuple[tuple[str, int], ...]:
        """This LeNet's shape as the compile-time constants of the C kernels that run it."""
        channels, c1, c2, _ = self.sizes
        f1, f2 = (block.shape[0] for block in self.blocks if block.name in ("fc1_w", "fc2_w"))
        return (("CH", channels), ("N", self.input_shape[-1]), ("C1", c1), ("C2", c2), ("F1", f1), ("F2", f2),
                ("NC", self.num_classes))

    def probe(self, x):
        return LeNetProbe(self, x)

    def reference_probe(self, x):
        return GroupedLeNetProbe(self, x)

    def features(self, theta, x):
        """Flattened conv features ``[M, N, c2*side*side]``."""
        p = self.unflatten(theta)
        m, n = theta.shape[0], x.shape[0]
        channels, c1, c2, side = self.sizes
        # The input is shared: one convolution with M*c1 output channels.
        h = F.conv2d(x, p["conv1_w"].reshape(m * c1, channels, 5, 5), p["conv1_b"].reshape(m * c1))
        h = relu_pool2(h)
        h = F.conv2d(h, p["conv2_w"].reshape(m * c2, c1, 5, 5), p["conv2_b"].reshape(m * c2), groups=m)
        h = relu_pool2(h)
        return h.reshape(n, m, c2 * side * side).transpose(0, 1)

    def forward(self, theta, x):
        p = self.unflatten(theta)
        h = torch.relu(dense(self.features(theta, x), p["fc1_w"], p["fc1_b"]))
        h = torch.relu(dense(h, p["fc2_w"], p["fc2_b"]))
        return dense(h, p["fc3_w"], p["fc3_b"])

    def head(self, theta, shared):
        p = self.unflatten(theta)
        h = torch.relu(dense_shared(shared, p["fc1_w"], p["fc1_b"]))
        h = torch.relu(dense(h, p["fc2_w"], p["fc2_b"]))
        return dense(h, p["fc3_w"], p["fc3_b"])

    def compiled_logits(self, theta, x):
        """``forward``'s logits from the C kernel (:mod:`zoo.models.lenet_compiled`) on the CPU in float32, else None."""
        if not all(t.device.type == "cpu" and t.dtype == torch.float32 for t in (theta, x)):
            return None
        kernel = forward_kernel(self.kernel_constants())
        return None if kernel is None else kernel.logits(theta, torch.arange(len(theta)), x)

    def single_moves(self, point, x, previous=None):
        return LeNetMoves(self, point, x, previous)

    def norm_scale(self, theta):
        p = self.unflatten(theta)
        scale = torch.ones(theta.shape[0], device=theta.device, dtype=theta.dtype)
        for name in WEIGHTS:
            scale = scale * (frobenius(p[name]) / 3.0)
        return scale


@hookimpl
def zoo_models():
    return [PluginSpec("lenet", LeNet, {"width": Param(1.0, "multiplies every layer's channels and units (0.5: LeNet-0.5)")}, "LeNet-5 with a width factor (1x28x28 or 3x32x32 input)")]
