"""Guess & Check throughput, the SGD population step and steps/s, pattern-search rounds and a cell under load, across commits.

MNIST comes from the data root (``ZOO_DATA_ROOT``) when it holds MNIST, else
from the subset embedded in the package, so the benchmarks run offline.
"""

from __future__ import annotations

from zoo.models.lenet import LeNet
from zoo.models.mlp import MLP
from zoo.optimizer import Context
from zoo.optimizers.gradient import GradientBaseline, Progress, Round
from zoo.optimizers.pattern_search import PatternSearch
from zoo.registry import default_registry
from zoo.speed.contention import contention, default_suite_cell
from zoo.speed.guess_rate import Throughput
from zoo.speed.search_rate import SearchRate
from zoo.speed.sgd_rate import SETTINGS, SGDRate
from zoo.tasks.mnist import MNIST
from zoo.tasks.toys import Toy2D, sample_kink

SECONDS = 1.0  # length of one throughput measurement
GENERATOR = {"reference": "torch", "fast": "philox"}  # the baseline draws as the reference implementation does


class _Rate:
    """Shared by the throughput benchmarks: a warm engine and a guess count worth ``SECONDS``."""

    def start(self, engine: str, model, problem, loss_bin) -> None:
        self.throughput = Throughput(engine, model, problem, loss_bin, generator=GENERATOR[engine])
        self.guesses = max(1, int(self.throughput.warm_up(0.2) * SECONDS))

    def track_guesses_per_second(self, *params) -> float:
        return self.throughput.run(self.guesses).per_second

    track_guesses_per_second.unit = "guesses/s"


class GuessCheckLeNet(_Rate):
    """LeNet width 0.5 on two-class MNIST, U[-1, 1], loss bin (0.30, 0.35] (Table 2)."""

    params = ([2, 16], ["reference", "fast"])
    param_names = ["n", "engine"]
    timeout = 300

    def setup(self, n, engine):
        problem = MNIST().sample(n, 0)
        self.start(engine, LeNet(problem.input_shape, 2, width=0.5), problem, (0.30, 0.35))


class GuessCheckKink(_Rate):
    """A 20-unit MLP on 16 points of the 2-D kink data (Figure 2), accuracy only."""

    params = (["reference", "fast"],)
    param_names = ["engine"]
    timeout = 300

    def setup(self, engine):
        problem = Toy2D(sample_kink, 0.25).sample(16, 0)
        self.start(engine, MLP(problem.input_shape, 2, hidden=20), problem, None)


class SGDPopulationStep:
    """One full-batch SGD step of 32 LeNet-0.5 models on 16 MNIST samples, with bin steering."""

    timeout = 120

    def setup(self):
        self.problem = MNIST().sample(16, 0)
        self.model = LeNet(self.problem.input_shape, 2, width=0.5)
        self.sgd = GradientBaseline(lr=0.001, epochs=1, batch=16, population=32)
        self.ctx = Context(seed=0, loss_bin=(0.30, 0.35))
        self.gen = self.ctx.generator("init")
        self.theta = self.model.init_uniform(32, 1.0, self.gen)
        self.time_population_step()  # the first step compiles oneDNN kernels

    def time_population_step(self):
        run = Progress(counters={"steps": 0, "forward_evals": 0.0}, round=Round(self.theta))  # a fresh round each time
        self.sgd.train(run, self.problem, self.model, self.ctx, self.gen)


class SGDPopulationRate:
    """SGD steps/s of 64 LeNet-0.5 models on 16 two-class MNIST samples (Table 2: batch 2, the lowest bin's steering):
    the reference design, zoo with autograd and zoo's default, on the same steps of the same round."""

    params = (["reference", "autograd", "fast"],)
    param_names = ["engine"]
    timeout = 300

    def setup(self, engine):
        problem = MNIST().sample(16, 0)
        lr, loss_bin = SETTINGS["mnist"]
        self.rate = SGDRate(engine, LeNet(problem.input_shape, 2, width=0.5), problem, 64, lr, loss_bin)
        self.rate.run(1)  # oneDNN and the C compiler prepare their kernels for these shapes
        self.steps = max(2, int(SECONDS * self.rate.run(2).per_second))

    def track_steps_per_second(self, engine):
        return self.rate.run(self.steps).per_second

    track_steps_per_second.unit = "steps/s"


class PatternSearchSteps:
    """Ten pattern-search steps of 99 candidates, LeNet width 1 on 100 ten-class MNIST samples (Table 4)."""

    timeout = 300

    def setup(self):
        self.problem = MNIST("all").sample(100, 0)
        self.model = LeNet(self.problem.input_shape, 10, width=1.0)
        self.search = PatternSearch(population=99, max_steps=10)
        self.time_ten_steps()  # the first pass compiles oneDNN kernels

    def time_ten_steps(self):
        self.search.run(self.problem, self.model, Context(seed=0))


class PatternSearchRounds:
    """Pattern-search rounds/s of the reference design and of zoo, the same moves (Table 4: LeNet-1, ten-class MNIST,
    n = 100 with 99 candidates a round and n = 1,000 with 9)."""

    params = ([100, 1000], ["reference", "fast"])
    param_names = ["n", "engine"]
    timeout = 300

    def setup(self, n, engine):
        problem = MNIST("all").sample(n, 0)
        self.rate = SearchRate("pattern_search", engine, LeNet(problem.input_shape, 10, width=1.0), problem, 10_000)
        self.rate.run(1)  # oneDNN compiles its kernels for these shapes
        self.rounds = max(2, int(SECONDS * self.rate.run(2).per_second))

    def track_rounds_per_second(self, n, engine):
        return self.rate.run(self.rounds).per_second

    track_rounds_per_second.unit = "rounds/s"


class UnderLoad:
    """The default suite's SGD cell (n = 2, bin (0.50, 0.55], seed 0) beside two busy loops, over its idle time."""

    timeout = 600

    def setup(self):
        self.registry = default_registry()
        self.cell = default_suite_cell("sgd", self.registry)

    def track_loaded_over_idle(self):
        return contention(self.cell, self.registry, busy=2, rounds=1).ratio

    track_loaded_over_idle.unit = "loaded / idle"
