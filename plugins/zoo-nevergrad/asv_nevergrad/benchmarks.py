"""asv benchmarks of the nevergrad optimizers: one cell each, through zoo's public CellBenchmark.

``asv run --python=same --quick`` in this folder (``asv.conf.json``) runs them
against the installed zoo and zoo-nevergrad.
"""

from zoo.api import CellBenchmark


class KinkSearch(CellBenchmark):
    """One 200-evaluation search per optimizer on the 2-D kink toy with an 8-unit MLP."""

    task = {"name": "kink"}
    model = {"name": "mlp", "hidden": 8}
    optimizer = {"budget": 200, "target": 1}
    n = 8
    params = (["ng_cma", "ng_oneplusone", "ng_de", "ng_random"],)
    param_names = ["optimizer.name"]


class LeNetRounds(CellBenchmark):
    """Eight rounds of 32 candidates of sep-CMA-ES on LeNet-0.5, 16 two-class MNIST images (embedded subset)."""

    task = {"name": "mnist", "classes": "pair", "source": "embedded"}
    model = {"name": "lenet", "width": 0.5}
    optimizer = {"name": "ng_cma", "budget": 256, "population": 32, "target": 1}
    n = 16
