"""SGD steps per second on a LeNet population, reference design against zoo, as ``zoo speed --sgd`` measures them.

Every engine trains the same round (same seed, same initial models, same
minibatch order) for the same number of steps, on Tables 2 and 3's setting:
two-class MNIST or CIFAR-10, LeNet-0.5, batch min(n/2, 2), bin steering.
The engines:

- ``reference``: the reference implementation's design
  (:mod:`zoo.speed.sgd_reference`: grouped layers, autograd);
- ``autograd``: zoo's population with autograd (``engine = "autograd"``);
- ``fast``: zoo's default (``engine = "fast"``: the compiled LeNet gradient).

Measurements alternate between the engines, so all see the same load; each
engine's best counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from zoo.optimizer import Context
from zoo.optimizers.gradient import GradientBaseline, Progress, Round
from zoo.speed.sgd_reference import train_reference

ENGINES = ("reference", "autograd", "fast")
# Tables 2 and 3 of the reference: learning rate and loss bin (the lowest) by task.
SETTINGS = {"mnist": (1e-3, (0.30, 0.35)), "cifar10": (1e-4, (0.55, 0.57))}


@dataclass(frozen=True)
class StepRate:
    per_second: float  # steps per second of wall time
    cpu_ms: float  # CPU milliseconds per step, all threads of the process together
    frozen: int  # models frozen by the steering after the last step


class SGDRate:
    """One engine on one problem: ``run(steps)`` times that many SGD steps of a round from the seed's initial models."""

    def __init__(self, engine: str, model, problem, models: int, lr: float, loss_bin, seed: int = 0, device="cpu",
                 synchronize=None):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
        self.engine, self.model, self.models, self.loss_bin, self.seed, self.device = engine, model, models, loss_bin, seed, device
        self.synchronize = synchronize or (lambda: None)  # torch.cuda.synchronize on a GPU: its work runs asynchronously
        self.problem = problem.to(device)
        self.sgd = GradientBaseline(lr=lr, epochs=10**6, population=models, engine="autograd" if engine == "reference" else engine)
        n = len(self.problem.y_train)
        self.batch = self.sgd.batch_size(n)
        self.steps_per_epoch = -(-n // self.batch)

    def run(self, steps: int) -> StepRate:
        ctx = Context(seed=self.seed, device=self.device, loss_bin=self.loss_bin)
        gen = ctx.generator("init")
        theta = self.model.init_uniform(self.models, 1.0, gen, device=self.device)
        n, x, y = len(self.problem.y_train), self.problem.x_train, self.problem.y_train
        self.synchronize()
        began, cpu = time.perf_counter(), time.process_time()
        if self.engine == "reference":
            _, frozen, done = train_reference(self.sgd, self.model, theta, x, y, gen, self.loss_bin, max_steps=steps)
            frozen = int(frozen.sum())
        else:
            # a cap on forward evaluations half a step past the last step: the loop stops right after it
            self.sgd.max_cell_evals = (steps - 0.5) * self.models * self.batch / n
            run = Progress(counters={"steps": 0, "forward_evals": 0.0}, round=Round(theta))
            self.sgd.train(run, self.problem, self.model, ctx, gen)
            done, frozen = int(run.counters["steps"]), -1
        self.synchronize()
        wall = time.perf_counter() - began
        return StepRate(done / wall, (time.process_time() - cpu) / done * 1e3, frozen)


def side_by_side(model, problem, models: int, lr: float, loss_bin, seconds: float, repeats: int, seed: int = 0,
                 device="cpu", engines=ENGINES, synchronize=None) -> dict:
    """Every engine, alternating ``repeats`` times, each on the same steps of the same round; the best of each counts."""
    rates = {name: SGDRate(name, model, problem, models, lr, loss_bin, seed, device, synchronize) for name in engines}
    first = next(iter(rates.values()))
    for rate in rates.values():
        rate.run(1)  # oneDNN and the C compiler prepare their kernels for these shapes
    slowest = min(rate.run(2).per_second for rate in rates.values())
    steps = max(2, int(seconds * slowest))  # the same steps for all: the steering makes later steps cheaper for zoo
    measured = {name: [] for name in rates}
    for _ in range(repeats):
        for name, rate in rates.items():
            measured[name].append(rate.run(steps))
    best = {name: max(r.per_second for r in values) for name, values in measured.items()}
    result = {"n": len(problem.y_train), "models": models, "batch": first.batch, "steps": steps,
              "steps_per_epoch": first.steps_per_epoch, "best": best,
              "epochs_per_second": {name: v / first.steps_per_epoch for name, v in best.items()},
              "per_second": {name: [r.per_second for r in values] for name, values in measured.items()},
              "cpu_ms_per_step": {name: min(r.cpu_ms for r in values) for name, values in measured.items()}}
    if "reference" in best:
        result["ratio"] = {name: v / best["reference"] for name, v in best.items() if name != "reference"}
    return result
