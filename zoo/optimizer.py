"""What an optimizer receives and returns.

An optimizer plugin's builder returns an object with one method::

    run(problem: Problem, model: PopulationModel, ctx: Context) -> Outcome

It reports the models it produced (for Guess & Check: the accepted ones; for a
trained baseline: those that fit and landed in the loss bin) and counters.
The counters ``tested`` and ``accepted`` give the acceptance rate, from which
the runner derives the volume estimate; other counters (``steps``,
``forward_evals``, ``epochs``...) are reported as they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable

import torch

from zoo.checkpoints import Checkpointer
from zoo.evaluate import LossBin, fit_and_loss, test_accuracy
from zoo.trajectory import Trajectory

UNUSABLE = (KeyError, IndexError, ValueError, TypeError, RuntimeError, AttributeError)  # a state that does not fit


UNCAPPED = 10**12  # a count cap that never binds: a bench's budget_evals is then the only limit


def derive_seed(*parts) -> int:
    """A 63-bit seed from any tuple of values, stable across processes and platforms."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass
class Context:
    """Everything about the cell that is not the problem or the model."""

    seed: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    loss_bin: LossBin | None = None
    progress: Callable[..., None] = lambda **counters: None
    keep_params: bool = False  # return the reported models' parameters for the store
    trajectory: Trajectory | None = None  # the anytime curve the runner stores; None: tracing costs nothing
    checkpoints: Checkpointer | None = None  # where progress is saved; None: no checkpoints

    def resume(self, restore: Callable[[dict], object]):
        """Continue from the progress an earlier run of this experiment saved, if any.

        ``restore(state)`` turns the state this optimizer once passed to
        :meth:`checkpoint` back into its own objects; it returns None (or
        raises) when the state does not fit this cell, say when a budget
        shrank below it, and the cell then starts afresh. Returns what
        ``restore`` returned, or None.
        """
        if self.checkpoints is None:
            return None
        saved = self.checkpoints.load()
        if saved is None:
            return None
        try:
            before = float(saved.get("seconds") or 0.0)
            if not 0 <= before < float("inf"):
                raise ValueError(f"{before} seconds")
            restored = restore(saved["optimizer"])
            if restored is not None and self.trajectory is not None and saved.get("trajectory") is not None:
                self.trajectory.restore(saved["trajectory"])
        except UNUSABLE as error:
            self.checkpoints.warn(f"ignoring a checkpoint that does not fit this cell ({type(error).__name__}: {error}); "
                                  "the cell starts afresh")
            return None
        if restored is not None:
            self.checkpoints.resumed_from = self.checkpoints.saved.cell_id
            self.checkpoints.before = before
        return restored

    def checkpoint(self, state: Callable[[], dict], final: bool = False) -> None:
        """Save progress when the checkpoint interval has passed (always when ``final``).

        ``state()`` builds it only then: a tree of dicts, lists, numbers,
        strings and tensors (a generator's state is ``gen.get_state()``), from
        which the optimizer's ``restore`` continues exactly as if it had
        never stopped. Call it as often as you like (every round is fine),
        and with ``final=True`` once at the end, so that a cell whose budget
        grows later continues from there.
        """
        if self.checkpoints is None or not (final or self.checkpoints.due()):
            return
        trajectory = self.trajectory.state() if self.trajectory is not None else None
        self.checkpoints.save({"optimizer": state(), "trajectory": trajectory, "seconds": self.checkpoints.elapsed()}, final)

    def trace(self, evals: float, theta: torch.Tensor, final: bool = False) -> None:
        """Report the current models ``theta[K, P]`` after ``evals`` forward evaluations, for the anytime curve.

        ``evals`` counts models evaluated on the whole training set (a
        minibatch step of m models on b of n samples is m * b / n). Call it as
        often as you like; a point is kept only when the cost has grown enough
        since the last one, and once with ``final=True`` at the end.
        """
        if self.trajectory is not None:
            self.trajectory.record(evals, theta, final)

    def generator(self, stream: str = "optimizer") -> torch.Generator:
        """A generator on the cell's device, seeded from the cell seed and a stream name."""
        gen = torch.Generator(device=self.device)
        gen.manual_seed(derive_seed(self.seed, stream))
        return gen


@dataclass
class Outcome:
    """The models an optimizer reports and what it cost to find them."""

    test_acc: list[float]
    train_acc: list[float]
    train_loss: list[float]
    counters: dict[str, float] = field(default_factory=dict)
    params: torch.Tensor | None = None  # [K, P] on the CPU when ctx.keep_params
    diagnostics: dict = field(default_factory=dict)  # JSON-ready details an optimizer stores with the cell (e.g. per level)

    def __post_init__(self):
        if not len(self.test_acc) == len(self.train_acc) == len(self.train_loss):
            raise ValueError("test_acc, train_acc and train_loss must have one entry per model")

    @classmethod
    def of(cls, model, problem, theta: torch.Tensor, counters: dict, ctx: Context, train=None) -> "Outcome":
        """Report the models ``theta[K, P]`` (K may be 0) with their train fit, loss and test accuracy.

        ``train`` is ``(acc, loss)`` when the caller already has them (those it
        accepted the models on), so the report shows exactly what was judged.
        """
        if len(theta) == 0:
            return cls([], [], [], dict(counters))
        with torch.no_grad():
            acc, loss = train if train is not None else fit_and_loss(model, theta, problem.x_train, problem.y_train)
            test = test_accuracy(model, theta, problem.x_test, problem.y_test)
        return cls(test.tolist(), acc.tolist(), loss.tolist(), dict(counters), theta.cpu() if ctx.keep_params else None)
