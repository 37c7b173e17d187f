"""Batched layer primitives shared by the population models."""

from __future__ import annotations

import torch


def dense_shared(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """First dense layer, input shared by all models.

    ``x[N, d]``, ``w[M, out, d]``, ``b[M, out]`` -> ``[M, N, out]``: one GEMM
    with M*out output columns instead of M small ones.
    """
    m, out, d = w.shape
    y = torch.addmm(b.reshape(1, m * out), x, w.reshape(m * out, d).t())
    return y.view(x.shape[0], m, out).transpose(0, 1)


def dense(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-model dense layer: ``x[M, N, d]`` -> ``[M, N, out]``."""
    return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))
