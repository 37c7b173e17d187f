"""The hook implementation that registers the nevergrad optimizers with zoo."""

from zoo.api import Param, PluginSpec, hookimpl
from zoo_nevergrad.search import NevergradSearch

COMMON = {
    "budget": Param(2000, "candidate evaluations per search"),
    "population": Param(32, "candidates asked per round (nevergrad's num_workers), evaluated in one pass"),
    "radius": Param(1.0, "searches the box [-radius, radius]^P, starting at a uniform point in it"),
    "target": Param(10, "independent searches per cell", budget=True),
}

NAMED = (
    ("ng_cma", "DiagonalCMA", "sep-CMA-ES (diagonal covariance), scales to LeNet sizes"),
    ("ng_fullcma", "CMA", "CMA-ES with a full P x P covariance, for small models"),
    ("ng_oneplusone", "OnePlusOne", "(1+1)-ES, one-fifth rule, a population of mutations per round"),
    # plain "DE" crosses over coordinate by coordinate in Python: 20x slower per candidate at LeNet sizes
    ("ng_de", "TwoPointsDE", "differential evolution, two-point crossover"),
    ("ng_random", "RandomSearch", "uniform random search in the box: Guess & Check through nevergrad"),
)


def spend(evals, params):
    """A bench's ``budget_evals`` shared among the cell's ``target`` independent searches."""
    return {"budget": max(1, evals // params["target"])}


def _fixed(algorithm):
    return lambda **params: NevergradSearch(algorithm=algorithm, **params)


@hookimpl
def zoo_optimizers():
    specs = [PluginSpec(name, _fixed(algorithm), COMMON, f"nevergrad {algorithm}: {summary}", eval_budget=spend)
             for name, algorithm, summary in NAMED]
    specs.append(PluginSpec("ng", NevergradSearch, {"algorithm": Param("OnePlusOne", "a name in nevergrad.optimizers.registry"), **COMMON},
                            "any optimizer of nevergrad.optimizers.registry, by name", eval_budget=spend))
    return specs
