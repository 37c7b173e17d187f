"""The hook implementation that registers the nevergrad optimizers with zoo."""

from zoo.hookspecs import hookimpl
from zoo.registry import PluginSpec
from zoo_nevergrad.search import NevergradSearch

COMMON = {"budget": 2000, "population": 32, "radius": 1.0, "target": 10}

NAMED = (
    ("ng_cma", "DiagonalCMA", "sep-CMA-ES (diagonal covariance), scales to LeNet sizes"),
    ("ng_fullcma", "CMA", "CMA-ES with a full P x P covariance, for small models"),
    ("ng_oneplusone", "OnePlusOne", "(1+1)-ES, one-fifth rule, a population of mutations per round"),
    # plain "DE" crosses over coordinate by coordinate in Python: 20x slower per candidate at LeNet sizes
    ("ng_de", "TwoPointsDE", "differential evolution, two-point crossover"),
    ("ng_random", "RandomSearch", "uniform random search in the box: Guess & Check through nevergrad"),
)


def _fixed(algorithm):
    return lambda **params: NevergradSearch(algorithm=algorithm, **params)


@hookimpl
def zoo_optimizers():
    specs = [PluginSpec(name, _fixed(algorithm), COMMON, f"nevergrad {algorithm}: {summary}") for name, algorithm, summary in NAMED]
    specs.append(PluginSpec("ng", NevergradSearch, {"algorithm": "OnePlusOne", **COMMON},
                            "any optimizer of nevergrad.optimizers.registry, by name"))
    return specs
