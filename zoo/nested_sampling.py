"""Nested sampling with dynesty: an established library's volume of a region, to cross-check subset simulation.

Nested sampling (Skilling 2006) keeps ``live`` points drawn from the prior
above a rising likelihood bound; each iteration replaces the worst by a new
draw above it, so after i iterations the prior mass above the bound is about
``exp(-i / live)`` (its log has standard deviation ``sqrt(i) / live``). With
the log-likelihood set to minus :mod:`zoo.optimizers.volume_ss`'s level score,
which is at most 0 exactly inside the region, the bound climbs through the
same nested levels as subset simulation, by a different algorithm written by
other people: dynesty's slice sampling in the unit cube instead of pCN in
Gaussian space, one point at a time instead of a population.

The region's volume is read off at the first iteration i where at least half
the live points lie inside: the live points are uniform on the mass ``X_i``
above the bound, so ``volume = X_i * f`` with ``f`` the share inside, and the
interval adds the binomial error of ``f`` to that of ``log X_i``.

dynesty is an optional dependency (the ``test`` extra): import this module
only where it is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from dynesty import NestedSampler

from zoo.statistics import LEVEL, t_quantile

LN10 = math.log(10.0)


@dataclass
class NestedVolume:
    """log10 volume with its normal-approximation interval, and what it cost."""

    log10: float
    low: float
    high: float
    iterations: int
    calls: int  # likelihood evaluations (one model on the training set each)


def log10_volume(score, dim: int, live: int, seed: int, sample: str = "rslice", max_iterations: int = 200_000,
                 level: float = LEVEL) -> NestedVolume:
    """The volume of ``{score <= 0}`` under N(0, I) in z by nested sampling with ``live`` live points.

    ``score`` is a level score of Gaussian points ``z[M, dim]`` (as
    :func:`zoo.optimizers.volume_ss.region_score` returns); dynesty samples the
    unit cube, mapped to z by the normal quantile, so the prior is the same.
    """
    def log_likelihood(u: np.ndarray) -> float:
        z = math.sqrt(2.0) * torch.erfinv(torch.from_numpy(2 * u - 1).float().clamp(-1 + 1e-7, 1 - 1e-7))
        s, ok = score(z.unsqueeze(0))
        return 0.0 if bool(ok[0]) else -max(float(s[0]), 1e-12)  # strictly below 0 outside the region

    sampler = NestedSampler(log_likelihood, lambda u: u, dim, nlive=live, sample=sample,
                            rstate=np.random.default_rng(seed))
    calls = 0
    for i, it in enumerate(sampler.sample(maxiter=max_iterations, dlogz=1e-12), start=1):
        calls += it.nc
        inside = int((sampler.live_logl >= 0).sum())
        if 2 * inside >= live:
            f = inside / live
            ln = it.logvol + math.log(f)
            sd = math.sqrt(i / live**2 + (1 - f) / (f * live))
            half = t_quantile(1 - (1 - level) / 2, 10**6) * sd
            return NestedVolume(ln / LN10, (ln - half) / LN10, min(0.0, (ln + half) / LN10), i, calls + live)
    raise RuntimeError(f"nested sampling did not reach the region in {max_iterations} iterations")
