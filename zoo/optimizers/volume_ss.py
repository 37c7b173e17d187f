"""Volume by subset simulation: Guess & Check's volume where Guess & Check cannot go.

Guess & Check needs about 1/volume guesses to find one model, so it cannot
measure a region of 10^-10 of the prior, let alone 10^-50. ``volume_ss``
estimates the same quantity, the share of the prior U[-radius, radius]^P
that the cell's acceptance region holds (100% train accuracy, normalized loss
in the bin), with :mod:`zoo.subset_simulation`, and reports ``target``
models drawn from the prior restricted to that region: the volume-only
sampler's models, with their test accuracies, as Guess & Check reports its
accepted guesses.

The levels come from one score, at most 0 exactly inside the region:

    score = K + h / (1 + h)        while K > 0 samples are misclassified
    score = d / (1 + |d|)          once all fit (0 without a loss bin)

where ``h`` sums the misclassified samples' violations ``-margin_i`` (sample
i's scaled logit of its label minus the largest other one, logits divided by
the model's ``norm_scale`` as in the normalized loss L) and ``d = max(lo - L,
L - hi)`` is how far L lies outside the bin (lo, hi]. The count comes first:
a score on margins alone (the worst margin, say) is drawn towards networks
whose outputs barely depend on the input, where every margin is near 0
without any fitting, and the levels shrink into that trap forever. Within a
count the violations order the particles continuously, so they do not tie on
the count's plateaus. The last level is the acceptance rule itself
(:func:`zoo.evaluate.accepted`), so the estimate is of exactly the region
Guess & Check counts.

With ``within = "min"`` h is instead the *smallest* violation. The summed
violations order a count by how close all its wrong samples are to the
boundary, so deep levels can shrink every violation of the same K samples
for many levels (each keeping p0 of the mass) before any copy flips one,
and a repeat whose particles lose the families that lead to fewer errors
creeps there and comes out low. The smallest violation orders a count by how
close its nearest wrong sample is to flipping: each level within a count
drives one sample towards the boundary, the next count's set borders the
level, and the score is still continuous within a count (no ties). Both
scores define nested sets that end in the same region, so both estimate the
same volume; they differ in how the levels get there.

``poisoned_volume_ss`` does the same for poisoned Guess & Check's region (fit
the training set and give every poison point its wrong label), so good and
poisoned volumes sit side by side at any n.
"""

from __future__ import annotations

import math

import torch

from zoo import subset_simulation
from zoo.evaluate import LossBin, accepted, fit_and_loss, normalized_loss
from zoo.hookspecs import hookimpl
from zoo.optimizer import Outcome
from zoo.optimizers import poisoned
from zoo.registry import Param, PluginSpec

BUDGET = 1 << 15  # model-input pairs per forward pass, as in zoo.evaluate.test_accuracy


def to_parameters(z: torch.Tensor, radius: float) -> torch.Tensor:
    """Standard Gaussian points to U[-radius, radius] parameters: radius * (2 Phi(z) - 1)."""
    return radius * torch.erf(z / math.sqrt(2.0))


def margins(logits: torch.Tensor, scale: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``[M, N]``: each sample's scaled logit of its label minus the largest other scaled logit."""
    scaled = logits / scale.view(-1, 1, 1)
    label = torch.nn.functional.one_hot(y, scaled.shape[-1]).bool().unsqueeze(0)
    own = scaled.masked_fill(~label, -math.inf).amax(-1)
    other = scaled.masked_fill(label, -math.inf).amax(-1)
    return own - other


WITHIN = ("sum", "min")  # how the violations of a count's misclassified samples order it (module docstring)


def level_score(margin: torch.Tensor, loss: torch.Tensor, loss_bin: LossBin | None, within: str = "sum") -> torch.Tensor:
    """Misclassified count + h / (1 + h), or, once all fit, the squashed distance to the bin.

    h is the misclassified samples' summed violation (``within = "sum"``) or
    their smallest one (``"min"``).
    """
    if within not in WITHIN:
        raise ValueError(f"within must be one of {WITHIN}, got {within!r}")
    wrong = margin < 0
    violation = (-margin).clamp(min=0)
    if within == "sum":
        h = violation.sum(1)
    else:  # rows with no wrong sample get 0 here and the bin's score below
        h = violation.masked_fill(~wrong, math.inf).amin(1).masked_fill(~wrong.any(1), 0.0)
    s = wrong.sum(1) + h / (1 + h)
    inside = torch.zeros_like(h)
    if loss_bin is not None:
        lo, hi = loss_bin
        d = torch.maximum(lo - loss, loss - hi)
        inside = d / (1 + d.abs())
    return torch.where(wrong.any(1), s, inside)


def region_score(model, x: torch.Tensor, y: torch.Tensor, loss_bin: LossBin | None, radius: float,
                 within: str = "sum"):
    """The level score and the acceptance mask of Gaussian points ``z[M, P]`` (see the module docstring)."""
    if within not in WITHIN:
        raise ValueError(f"within must be one of {WITHIN}, got {within!r}")
    per_pass = max(1, BUDGET // len(y))

    @torch.no_grad()
    def score(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores, oks = [], []
        for part in to_parameters(z, radius).split(per_pass):
            logits, scale = model.forward(part, x), model.norm_scale(part)
            loss = normalized_loss(logits, scale, y)
            scores.append(level_score(margins(logits, scale, y), loss, loss_bin, within))
            oks.append(accepted((logits.argmax(-1) == y).float().mean(1), loss, loss_bin))
        return torch.cat(scores), torch.cat(oks)

    return score


def diagnostics(estimate: subset_simulation.Estimate) -> dict:
    """What the store keeps per cell: every repeat's levels, and the interval's parts."""
    return {
        "log10_volume": estimate.log10, "ci_low": estimate.low, "ci_high": estimate.high, "spread": estimate.spread,
        "repeats": [
            {"log10": rep.log10, "stalled": rep.stalled,
             "levels": [{"threshold": lv.threshold, "probability": lv.probability, "acceptance": lv.acceptance,
                         "step": lv.step, "ess": lv.ess} for lv in rep.levels]}
            for rep in estimate.repeats
        ],
    }


def final_step(estimate: subset_simulation.Estimate, default: float) -> float:
    """The median pCN step the repeats' last moved levels adapted to: where moves inside the region start."""
    steps = sorted(rep.levels[-2].step for rep in estimate.repeats if len(rep.levels) >= 2)
    return steps[len(steps) // 2] if steps else default


def _worst(values) -> float:
    values = [v for v in values if not math.isnan(v)]
    return min(values) if values else math.nan


class SubsetSimulationVolume:
    def __init__(self, radius=1.0, target=10, particles=1000, repeats=4, p0=0.1, moves=50, sample_moves=50,
                 step=0.6, target_acceptance=0.3, max_levels=250):
        if radius <= 0 or target < 1 or particles < 10 or repeats < 2 or moves < 1 or sample_moves < 0:
            raise ValueError("volume_ss needs radius > 0, target >= 1, particles >= 10, repeats >= 2 (the interval "
                             "comes from their spread), moves >= 1 and sample_moves >= 0")
        if not 0 < p0 < 1 or not 0 < step <= 1 or not 0 < target_acceptance < 1 or max_levels < 1:
            raise ValueError("volume_ss needs 0 < p0 < 1, 0 < step <= 1, 0 < target_acceptance < 1 and max_levels >= 1")
        if p0 * particles < 2:
            raise ValueError(f"volume_ss keeps p0 * particles seeds per level; {p0} * {particles} < 2: raise particles")
        self.radius, self.target, self.particles, self.repeats = radius, target, particles, repeats
        self.p0, self.moves, self.sample_moves, self.step = p0, moves, sample_moves, step
        self.target_acceptance, self.max_levels = target_acceptance, max_levels

    def run(self, problem, model, ctx) -> Outcome:
        problem = problem.to(ctx.device)
        x, y = problem.x_train, problem.y_train
        generator = ctx.generator("volume_ss")
        score = region_score(model, x, y, ctx.loss_bin, self.radius)
        resumed = ctx.resume(lambda state: state if subset_simulation.restore(
            state, model.num_params, self.particles, self.repeats, ctx.device) else None)
        estimate, finals = subset_simulation.run(
            score, model.num_params, self.particles, self.repeats, self.p0, self.moves, generator, ctx.device,
            self.step, self.target_acceptance, self.max_levels,
            progress=lambda **c: ctx.progress(levels=c["levels"], evals=c["evals"], log10=round(c["log10"], 2)),
            checkpoint=ctx.checkpoint, resume=resumed)
        pool = torch.cat(finals)
        evals, sample_acceptance = estimate.evals, math.nan
        if len(pool):  # target draws from the final particles, then moved inside the region to part copies
            if len(pool) >= self.target:
                picks = torch.randperm(len(pool), generator=generator, device=pool.device)[: self.target]
            else:
                picks = torch.randint(len(pool), (self.target,), generator=generator, device=pool.device)
            pool = pool[picks]
            if self.sample_moves:
                pool, sample_acceptance, more = subset_simulation.constrained_moves(
                    score, pool, self.sample_moves, generator, final_step(estimate, self.step), self.target_acceptance)
                evals += more
        theta = to_parameters(pool, self.radius)
        ctx.trace(evals, theta, final=True)
        levels = [rep.levels for rep in estimate.repeats]
        nan = math.nan
        counters = {
            "forward_evals": evals,
            "accepted": len(theta),
            "log10_volume": nan if estimate.log10 is None else estimate.log10,
            "log10_low": nan if estimate.low is None else estimate.low,
            "log10_high": nan if estimate.high is None else estimate.high,
            "levels": max(len(lv) for lv in levels),
            "stalled": sum(bool(rep.stalled) for rep in estimate.repeats),
            "min_acceptance": _worst(level.acceptance for lv in levels for level in lv),
            "min_ess": _worst(level.ess for lv in levels for level in lv),
            "spread": estimate.spread,
            "sample_acceptance": sample_acceptance,
        }
        with torch.no_grad():
            train = fit_and_loss(model, theta, x, y) if len(theta) else None
        outcome = Outcome.of(model, problem, theta, counters, ctx, train=train)
        outcome.diagnostics = diagnostics(estimate)
        return outcome


PARAMS = {
    "radius": Param(1.0, "the prior: every parameter uniform in [-radius, radius], as Guess & Check draws"),
    "target": Param(10, "models to report, drawn from the final particles (the prior restricted to the region)"),
    "particles": Param(1000, "particles per repeat; each level keeps p0 * particles of them as seeds"),
    "repeats": Param(4, "independent repeats; the interval is a Student-t interval over their log10 estimates"),
    "p0": Param(0.1, "conditional probability per level: each level keeps this share of the particles"),
    "moves": Param(50, "pCN sweeps per level (too few bias the estimate low: watch acceptance and ESS)"),
    "sample_moves": Param(50, "pCN sweeps inside the region of the reported models, to part copies of one seed "
                              "(starting from the step the last level adapted to)"),
    "step": Param(0.6, "initial pCN step sqrt(1 - rho^2) in Gaussian space; adapted in each level's first half"),
    "target_acceptance": Param(0.3, "the pCN acceptance the step adapts towards"),
    "max_levels": Param(250, "levels before a repeat gives up (its product then only bounds the volume)"),
}


@hookimpl
def zoo_optimizers():
    plain = PluginSpec("volume_ss", SubsetSimulationVolume, PARAMS,
                       "Volume of the acceptance region by subset simulation (pCN moves), with volume-only samples")
    return [
        plain,
        poisoned.poisoned_spec(
            "poisoned_volume_ss",
            "volume_ss of poisoned Guess & Check's region: fit and get the first `poison` test points wrong",
            plain,
            {"poison": Param(5, poisoned.POISON_HELP)},
        ),
    ]
