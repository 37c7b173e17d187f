"""A complete zoo optimizer plugin: (1+λ) hill climbing on the normalized loss."""

import torch

from zoo.api import Outcome, Param, PluginSpec, accepted, fit_and_loss, hookimpl, test_accuracy


class HillClimb:
    def __init__(self, sigma=0.1, population=64, max_rounds=1000):
        if sigma <= 0 or population < 1 or max_rounds < 1:
            raise ValueError("hill_climb needs sigma > 0, population >= 1 and max_rounds >= 1")
        self.sigma, self.population, self.max_rounds = sigma, population, max_rounds

    @torch.no_grad()
    def run(self, problem, model, ctx) -> Outcome:
        gen, x, y = ctx.generator("hill_climb"), problem.x_train, problem.y_train
        best = model.init_uniform(1, 1.0, gen, device=ctx.device)
        best_loss = fit_and_loss(model, best, x, y)[1]
        for rounds in range(1, self.max_rounds + 1):
            noise = torch.randn(self.population, model.num_params, generator=gen, device=ctx.device)
            candidates = best + self.sigma * noise  # one population: all steps in one forward pass
            acc, loss = fit_and_loss(model, candidates, x, y)
            hit = accepted(acc, loss, ctx.loss_bin).nonzero().flatten()[:1]
            if len(hit):
                test = test_accuracy(model, candidates[hit], problem.x_test, problem.y_test)
                return Outcome(test.tolist(), acc[hit].tolist(), loss[hit].tolist(),
                               {"rounds": rounds, "tested": 1, "accepted": 1},
                               candidates[hit].cpu() if ctx.keep_params else None)
            if loss.min() < best_loss:
                best, best_loss = candidates[loss.argmin()].unsqueeze(0), loss.min()
            ctx.progress(rounds=rounds, loss=float(best_loss))
            ctx.trace(rounds * self.population, best)  # the anytime curve: current point against evaluations
        return Outcome([], [], [], {"rounds": self.max_rounds, "tested": 1, "accepted": 0})


@hookimpl
def zoo_optimizers():
    params = {
        "sigma": Param(0.1, "standard deviation of a Gaussian step"),
        "population": Param(64, "steps tried at once, in one forward pass"),
        "max_rounds": Param(1000, "give up after this many rounds"),
    }
    return [PluginSpec("hill_climb", HillClimb, params, "(1+λ) hill climbing: keep the best Gaussian step")]
