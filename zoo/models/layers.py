"""Batched layer primitives shared by the population models."""

from __future__ import annotations

import math

import torch


def dense_shared(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """First dense layer, input shared by all models: ``x[N, d]``, ``w[M, out, d]``, ``b[M, out]`` -> ``[M, N, out]``.

    ``w`` is usually a strided view into ``theta[M, P]``. For a few inputs per
    model one GEMM with M*out output columns is fastest, but it needs ``w``
    copied into one contiguous matrix; past a few dozen inputs that copy costs
    more than the product itself (3-10x on 784 MNIST pixels), so a batched
    product reads the view in place instead.
    """
    m, out, d = w.shape
    if d >= 32:
        return torch.baddbmm(b.unsqueeze(1), x.expand(m, *x.shape), w.transpose(1, 2))
    y = torch.addmm(b.reshape(1, m * out), x, w.reshape(m * out, d).t())
    return y.view(x.shape[0], m, out).transpose(0, 1)


def relu_pool2(h: torch.Tensor) -> torch.Tensor:
    """ReLU then 2x2 max-pooling of the last two axes, bit for bit ``max_pool2d(relu(h), 2)``.

    Pooling first and then the ReLU gives the same values (both are
    monotone) on a quarter of the elements, and two elementwise maxima of
    strided views (rows, then columns) are many times faster than
    ``max_pool2d`` on the CPU for a population's thousands of channels
    (0.45 against 6.5 ms on 1,000 samples of 16 channels of 8 x 8, one
    thread). Odd edges are dropped, as there.
    """
    rows, cols = h.shape[-2] // 2 * 2, h.shape[-1] // 2 * 2
    pairs = torch.maximum(h[..., 0:rows:2, :cols], h[..., 1:rows:2, :cols])
    return torch.relu(torch.maximum(pairs[..., 0::2], pairs[..., 1::2]))


def dense(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-model dense layer: ``x[M, N, d]`` -> ``[M, N, out]``."""
    return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))


def fan_out_bounds(blocks) -> list[float]:
    """The reference's "regular" rule for dense layers: weights ``[out, in]`` within 1/sqrt(out), biases within 1.

    The reference stores a dense weight as ``[in, out]`` and bounds it by
    1/sqrt of its last dimension, the layer's output width (PyTorch's default
    uses the input width); its biases are drawn from U[-1, 1].
    """
    return [1.0 / math.sqrt(block.shape[0]) if block.in_norm else 1.0 for block in blocks]
