"""Subset simulation: the share of a prior that a rare region holds, and samples from that region.

Guess & Check measures a region's volume by counting hits, which takes about
1/volume guesses. Subset simulation (Au & Beck 2001; multilevel splitting)
writes the rare region ``A = {score <= 0, accepted}`` as the last of nested
levels ``F_1 ⊃ F_2 ⊃ ... ⊃ A`` with ``F_k = {score <= b_k}`` and multiplies
conditional probabilities that are each about ``p0``, so a volume of 10^-50
costs some fifty levels of ``particles`` evaluations and ``moves`` MCMC sweeps.

Everything here lives in standard Gaussian space: a point ``z ~ N(0, I)``
maps to parameters by the caller (``r * erf(z / sqrt(2))`` is U[-r, r]).
The MCMC move is preconditioned Crank-Nicolson (Cotter et al. 2013),
``z' = rho z + sqrt(1 - rho^2) xi``, which leaves N(0, I) invariant in any
dimension, so the Metropolis rule restricted to a level is simply "take the
proposal when it stays inside". Its step ``sqrt(1 - rho^2)`` adapts during
the first half of a level's sweeps towards ``target_acceptance`` and is then
frozen.

A level's threshold is the ``p0`` quantile of the particles' scores; its
conditional probability is the share of particles at or below it, so ties
(copies that never moved) are counted, not assumed away; a level that every
particle passes makes no progress and stops the repeat (``stalled``). Each
estimate runs ``repeats`` independent repeats (batched into one population)
and reports the mean of their log10 estimates with a Student-t interval over
repeats: the interval reflects the variance the mixing leaves, which the
per-level diagnostics (acceptance, effective sample size) explain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from zoo.statistics import LEVEL, t_quantile

# score(z[M, D]) -> (score[M], accepted[M]): accepted implies score <= 0
Score = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

MIN_STEP, MAX_STEP = 1e-4, 1.0


@dataclass
class Level:
    """One level of one repeat: its threshold, conditional probability and how well its particles mixed."""

    threshold: float  # the score bound b_k (the final level: the region itself, stored as 0)
    probability: float  # share of the previous level's particles inside this one
    acceptance: float = math.nan  # share of pCN proposals taken while repopulating this level
    step: float = math.nan  # pCN step sqrt(1 - rho^2) the level ended with
    ess: float = math.nan  # effective number of independent particles after the moves


@dataclass
class Repeat:
    """One independent run of subset simulation."""

    levels: list[Level] = field(default_factory=list)
    log10: float = 0.0  # sum of log10 conditional probabilities so far
    done: bool = False
    stalled: str = ""  # why it stopped before reaching the region ("" when it did)


@dataclass
class Estimate:
    """log10 volume with its interval over repeats, the repeats, and what it cost."""

    log10: float | None  # None when a repeat stalled (``high`` is then an upper bound)
    low: float | None
    high: float | None
    repeats: list[Repeat]
    evals: int  # particle evaluations (forward passes of one model over the training set)

    @property
    def spread(self) -> float:
        """Standard deviation of the repeats' log10 estimates."""
        values = [r.log10 for r in self.repeats if not r.stalled]
        if len(values) < 2:
            return math.nan
        mean = sum(values) / len(values)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def combine(repeats: list[Repeat], evals: int, level: float = LEVEL) -> Estimate:
    """Mean of the repeats' log10 estimates ± Student's t quantile × their standard error.

    A stalled repeat only bounds the volume from above (its last level holds
    the region), so any stall makes the estimate an upper bound: the largest
    partial product.
    """
    if any(r.stalled for r in repeats):
        return Estimate(None, None, max(r.log10 for r in repeats), repeats, evals)
    values = [r.log10 for r in repeats]
    k = len(values)
    mean = sum(values) / k
    if k < 2:
        return Estimate(mean, None, None, repeats, evals)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1))
    half = t_quantile(1 - (1 - level) / 2, k - 1) * sd / math.sqrt(k)
    return Estimate(mean, mean - half, min(0.0, mean + half), repeats, evals)


def effective_size(score: torch.Tensor, family: torch.Tensor, families: int) -> float:
    """Particles over the design effect 1 + (m - 1) ICC of their families (copies of one seed).

    Particles resampled from the same seed stay correlated until the moves
    carry them apart; the intraclass correlation of their scores says how
    much, so ``N / (1 + (m - 1) ICC)`` counts them as independent draws.
    """
    n = score.numel()
    m = n / families
    if families < 2 or m <= 1:
        return float(n)
    score = score.double()
    mean = score.mean()
    sums = torch.zeros(families, dtype=torch.float64, device=score.device).index_add_(0, family, score)
    counts = torch.zeros(families, dtype=torch.float64, device=score.device).index_add_(0, family, torch.ones_like(score))
    group_means = sums / counts.clamp(min=1)
    between = float((counts * (group_means - mean) ** 2).sum()) / (families - 1)
    within = float(((score - group_means[family]) ** 2).sum()) / max(n - families, 1)
    icc = (between - within) / (between + (m - 1) * within) if between + (m - 1) * within > 0 else 1.0
    return n / (1 + (m - 1) * min(max(icc, 0.0), 1.0))


class Sampler:
    """The score and the random stream, counting every particle evaluated."""

    def __init__(self, score: Score, generator: torch.Generator):
        self.score, self.generator = score, generator
        self.evals = 0

    def evaluate(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.evals += z.shape[0]
        return self.score(z)


def snapshot(z, s, ok, steps, state: list[Repeat], evals: int, generator: torch.Generator) -> dict:
    """The whole progress between two levels, as data: particles, scores, steps, the repeats' levels, the stream."""
    return {"z": z, "s": s, "ok": ok, "steps": steps, "evals": evals, "generator": generator.get_state(),
            "repeats": [{"log10": rep.log10, "done": rep.done, "stalled": rep.stalled,
                         "levels": [[lv.threshold, lv.probability, lv.acceptance, lv.step, lv.ess] for lv in rep.levels]}
                        for rep in state]}


def restore(saved: dict, dim: int, particles: int, repeats: int, device=None):
    """A :func:`snapshot` back as (z, s, ok, steps, repeats, evals, generator state); ValueError when it does not fit."""
    z, s, ok, steps = (saved[k].to(device) for k in ("z", "s", "ok", "steps"))
    if (z.shape != (repeats, particles, dim) or s.shape != (repeats, particles) or ok.shape != s.shape or ok.dtype != torch.bool
            or steps.shape != (repeats,) or len(saved["repeats"]) != repeats or int(saved["evals"]) < 0):
        raise ValueError("a subset simulation of another shape")
    state = [Repeat([Level(*(float(v) for v in lv)) for lv in rep["levels"]], float(rep["log10"]), bool(rep["done"]),
                    str(rep["stalled"])) for rep in saved["repeats"]]
    torch.Generator(device=z.device).set_state(saved["generator"])  # RuntimeError for anything but a generator's state
    return z, s, ok, steps, state, int(saved["evals"]), saved["generator"]


def run(score: Score, dim: int, particles: int, repeats: int, p0: float, moves: int, generator: torch.Generator,
        device=None, step: float = 0.6, target_acceptance: float = 0.3, max_levels: int = 250,
        progress: Callable = lambda **k: None, checkpoint: Callable = lambda state: None,
        resume: dict | None = None) -> tuple[Estimate, list[torch.Tensor]]:
    """Subset simulation with ``repeats`` independent repeats of ``particles`` particles each.

    Returns the estimate and, per repeat, its final particles inside the
    region (``[K_r, dim]`` in Gaussian space): draws from the prior
    restricted to the region, correlated within a repeat through their seeds.
    Before every level it offers ``checkpoint`` a function that builds its
    :func:`snapshot`; run with that state as ``resume`` (and the same
    arguments), it continues from there to the result it would have had.
    """
    if not 0 < p0 < 1 or particles < 2 or repeats < 1 or moves < 1:
        raise ValueError(f"subset simulation needs 0 < p0 < 1, particles >= 2, repeats >= 1 and moves >= 1, "
                         f"got {p0}, {particles}, {repeats}, {moves}")
    keep = max(1, math.ceil(p0 * particles))
    sampler = Sampler(score, generator)
    if resume is None:
        z = torch.randn(repeats * particles, dim, generator=generator, device=device)
        s, ok = sampler.evaluate(z)
        z, s, ok = z.view(repeats, particles, dim), s.view(repeats, particles), ok.view(repeats, particles)
        steps = torch.full((repeats,), float(step), device=z.device)
        state = [Repeat() for _ in range(repeats)]
    else:
        z, s, ok, steps, state, sampler.evals, stream = restore(resume, dim, particles, repeats, device)
        generator.set_state(stream)
    while True:
        checkpoint(lambda: snapshot(z, s, ok, steps, state, sampler.evals, generator))
        thresholds = torch.zeros(repeats, device=z.device)
        seeds = []
        for r, rep in enumerate(state):
            if rep.done:
                continue
            hits, kth = int(ok[r].sum()), float(s[r].kthvalue(keep).values)
            if hits >= keep or (kth <= 0 and hits):  # the region itself is no longer rare: the last factor
                p = hits / particles
                rep.levels.append(Level(0.0, p))
                rep.log10, rep.done = rep.log10 + math.log10(p), True
                continue
            if len(rep.levels) >= max_levels:
                rep.stalled, rep.done = f"{max_levels} levels without reaching the region", True
                continue
            b = max(kth, 0.0)  # never below 0: the region stays inside every level
            inside = s[r] <= b
            p = float(inside.float().mean())
            if p >= 1.0:
                rep.stalled, rep.done = f"level {len(rep.levels) + 1}: every particle ties at score {b:.4g}", True
                continue
            rep.levels.append(Level(b, p))
            rep.log10 += math.log10(p)
            thresholds[r] = b
            seeds.append((r, inside.nonzero().squeeze(1)))
        progress(levels=max(len(r.levels) for r in state), evals=sampler.evals,
                 log10=min(r.log10 for r in state))
        if not seeds:
            break
        active = torch.tensor([r for r, _ in seeds], device=z.device)
        families, family = [], []
        for r, idx in seeds:  # every seed gets particles / len(idx) chains, the remainder at random
            order = idx[torch.randperm(len(idx), generator=generator, device=idx.device)]
            copies = order.repeat(math.ceil(particles / len(idx)))[:particles]
            z[r], s[r], ok[r] = z[r, copies], s[r, copies], ok[r, copies]
            families.append(len(idx))
            family.append(torch.arange(particles, device=z.device) % len(idx))
        bound = thresholds[active].repeat_interleave(particles)
        zs, ss, oks = z[active].reshape(-1, dim), s[active].reshape(-1), ok[active].reshape(-1)
        step_each = steps[active].repeat_interleave(particles)
        zs, ss, oks, taken, step_each = _move_by_repeat(sampler, zs, ss, oks, bound, moves, step_each, len(seeds),
                                                        particles, target_acceptance)
        z[active], s[active], ok[active] = zs.view(-1, particles, dim), ss.view(-1, particles), oks.view(-1, particles)
        steps[active] = step_each.view(-1, particles)[:, 0]
        for i, (r, _) in enumerate(seeds):
            level = state[r].levels[-1]
            level.acceptance, level.step = taken[i], float(steps[r])
            level.ess = effective_size(s[r], family[i], families[i])
    final = [z[r][ok[r]] for r in range(repeats)]
    return combine(state, sampler.evals), final


def _move_by_repeat(sampler: Sampler, z, s, ok, bound, sweeps, step, groups, particles, target, accepted_only=False):
    """pCN sweeps of several repeats' particles at once, each repeat adapting its own step.

    A proposal is taken when its score stays within the particle's ``bound``
    (and, with ``accepted_only``, when it is accepted).
    """
    taken = torch.zeros(groups, device=z.device)
    for sweep in range(sweeps):
        rho = torch.sqrt(1 - step**2).unsqueeze(1)
        proposal = rho * z + step.unsqueeze(1) * torch.randn(z.shape, generator=sampler.generator, device=z.device)
        s_new, ok_new = sampler.evaluate(proposal)
        take = (s_new <= bound) & (ok_new | (not accepted_only))
        z = torch.where(take.unsqueeze(1), proposal, z)
        s, ok = torch.where(take, s_new, s), torch.where(take, ok_new, ok)
        rate = take.float().view(groups, particles).mean(1)
        taken += rate
        if sweep < sweeps // 2:  # Robbins-Monro on log step towards the target, then frozen
            factor = torch.exp(rate - target).repeat_interleave(particles)
            step = (step * factor).clamp(MIN_STEP, MAX_STEP)
    return z, s, ok, (taken / sweeps).tolist(), step


def constrained_moves(score: Score, z: torch.Tensor, sweeps: int, generator: torch.Generator, step: float = 0.6,
                      target_acceptance: float = 0.3) -> tuple[torch.Tensor, float, int]:
    """``sweeps`` pCN sweeps of particles inside the region (every move must stay accepted).

    Decorrelates the returned samples from the seeds they were copied from;
    returns the particles, the share of proposals taken and the evaluations.
    """
    sampler = Sampler(score, generator)
    s, ok = sampler.evaluate(z)
    bound = torch.zeros_like(s)
    steps = torch.full((z.shape[0],), float(step), device=z.device)
    z, s, ok, taken, _ = _move_by_repeat(sampler, z, s, ok, bound, sweeps, steps, 1, z.shape[0], target_acceptance,
                                         accepted_only=True)
    return z, taken[0], sampler.evals
