"""The cost model: the guesses and the time each Guess & Check cell of a manifest needs, before it runs.

A cell that wants ``target`` accepted guesses at acceptance share p needs
``target / p`` guesses on average. p and the guesses per second on this
machine come from the store when it holds cells of the same bench,
optimizer, n and bin (pooled over seeds), else from a *pilot*: the cell's
own search (its engine, generator, radius, bin, first seed) run for a few
seconds here through :class:`zoo.speed.guess_rate.Throughput`. p carries
its exact 95% interval, and so does every count and time derived from it;
with no accepted guess the interval's upper end bounds p, and the need is
only bounded below.

One GPU is modelled, not measured: the reference design evaluates every
guess on all n training samples, ``flop_per_guess`` counted by torch's
FLOP counter, at ``gpu_tflops`` sustained (pass your own: `zoo speed
--device cuda` measures guesses per second, and their product with the FLOP
per guess printed here is your GPU's rate). N GPUs divide a bench entry's
cells (and a cell's stream, with ``shards``) among them.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

from zoo.guessing.engines import default_chunk, default_workers
from zoo.metrics import clopper_pearson
from zoo.poisoning import poisoned_problem
from zoo.speed.guess_rate import Throughput
from zoo.statistics import Rate, pooled_rate

GUESSERS = ("guess_check", "poisoned_guess_check")
DEFAULT_GPU_TFLOPS = 5.0  # an assumption: a fraction of a current GPU's FP32 peak on small grouped convolutions


@dataclass
class Estimate:
    """One bench entry (optimizer, n, bin) over its seeds, and what it costs."""

    bench: str
    label: str
    n: int
    loss_bin: tuple | None
    cells: int
    target: int
    max_guesses: int
    share: Rate  # accepted share with its 95% interval (store: pooled over seeds, spread included)
    seconds: float  # the time the tested guesses took here
    source: str  # "store" or "pilot"
    flop_per_guess: float
    cell_ids: list = field(default_factory=list)

    @property
    def guesses(self) -> tuple[float | None, float, float]:
        """Guesses one cell needs: expected (None when nothing was accepted) and its 95% range (high may be inf)."""
        r = self.share
        return (self.target / r.rate if r.accepted else None, self.target / r.high,
                self.target / r.low if r.low > 0 else math.inf)

    @property
    def rate_here(self) -> float:
        """Guesses per second on this machine."""
        return self.share.tested / self.seconds if self.seconds > 0 else math.inf

    def gpu_rate(self, tflops: float) -> float:
        return tflops * 1e12 / self.flop_per_guess

    def times(self, rate: float, workers: int = 1) -> tuple[float | None, float, float]:
        """Seconds for all the entry's cells at ``rate`` guesses/s on each of ``workers``."""
        mean, lo, hi = self.guesses
        scale = self.cells / (rate * workers)
        return (None if mean is None else mean * scale, lo * scale, hi * scale)

    def within_budget(self) -> str:
        mean, lo, _ = self.guesses
        if lo > self.max_guesses:
            return "no"
        return "yes" if mean is not None and mean <= self.max_guesses else "?"


def entries(cells) -> dict:
    """Guess & Check cells grouped by bench entry: the same experiment but for the data seed."""
    groups: dict[str, list] = {}
    for cell in cells:
        if cell.optimizer.name in GUESSERS:
            key = json.dumps([cell.bench, cell.label, {**cell.canonical(), "seed": None}], sort_keys=True, default=repr)
            groups.setdefault(key, []).append(cell)
    return groups


def estimate(cells, registry, records=(), pilot_seconds: float = 2.0, device="cpu", progress=lambda text: None) -> list[Estimate]:
    """An :class:`Estimate` per bench entry of the Guess & Check ``cells``, from ``records`` or a pilot."""
    out = []
    for group in entries(cells).values():
        first = group[0]
        stored = [r for r in records if (r["bench"], r["label"], r["n"]) == (first.bench, first.label, first.n)
                  and _same_bin(r["bin"], first.loss_bin) and r["metrics"].get("acceptance")]
        problem, model = _problem(first, registry, device)
        flop = _flop_per_guess(model, problem)
        params = first.optimizer.params
        if stored:
            share = pooled_rate([r["metrics"]["acceptance"]["accepted"] for r in stored],
                                [r["metrics"]["acceptance"]["tested"] for r in stored])
            seconds, source = sum(r["metrics"]["wall_time"] for r in stored), "store"
        elif pilot_seconds > 0:
            progress(first.describe())
            tested, accepted, seconds = _pilot(first, problem, model, params, pilot_seconds, device)
            share, source = Rate(accepted, tested, *clopper_pearson(accepted, tested), 1), "pilot"
        else:
            continue
        out.append(Estimate(first.bench, first.label, first.n, first.loss_bin, len(group), int(params["target"]),
                            int(params["max_guesses"]), share, float(seconds), source, flop, [c.id for c in group]))
    return out


def _same_bin(stored, loss_bin) -> bool:
    if stored is None or loss_bin is None:
        return stored is None and loss_bin is None
    return all(math.isclose(a, b) for a, b in zip(stored, loss_bin))


def _problem(cell, registry, device):
    """The cell's training problem as its search sees it (poisoned for the poisoned guesser) and its model."""
    problem = registry.get("task", cell.task.name).build(**cell.task.params).sample(cell.n, cell.seed)
    if cell.optimizer.name == "poisoned_guess_check":
        problem = poisoned_problem(problem, cell.optimizer.params["poison"])
    model = registry.get("model", cell.model.name).build(input_shape=problem.input_shape,
                                                         num_classes=problem.num_classes, **cell.model.params)
    return problem, model


def _flop_per_guess(model, problem) -> float:
    """FLOP of one guess in the reference design: one model on all n training samples."""
    theta = torch.zeros(1, model.num_params)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.forward(theta, problem.x_train.cpu())
    return float(counter.get_total_flops())


def _pilot(cell, problem, model, params, seconds: float, device) -> tuple[int, int, float]:
    """Guesses tested, accepted and the seconds they took: the cell's own search for about ``seconds``."""
    chunk = params.get("batch") or default_chunk(params["engine"], model.num_params)
    meter = Throughput(params["engine"], model, problem, cell.loss_bin, seed=cell.rng_seed, device=device,
                       generator=params["generator"], chunk=chunk, workers=params.get("threads") or default_workers(device),
                       radius=params["radius"])
    rate = meter.warm_up(min(0.5, seconds / 4))
    guesses = max(meter.chunk, int(rate * seconds))
    began = time.perf_counter()
    _, accepted = meter.pilot(guesses)
    return guesses, accepted, time.perf_counter() - began
