"""The update a gradient baseline applies to its population's flat parameter tensor after each step.

Adam and RMSProp are ``torch.optim``'s. Plain SGD on the CPU (the default
suite's and the paper's tables' baseline) is written out here instead: the
first ``torch.optim`` optimizer of a process imports ``torch._dynamo`` (every
``Optimizer`` method is wrapped to keep it out of compiled graphs), 4 to 6 s
on two cores, more than the default suite's whole SGD cell. :class:`SGD`
runs the operations of ``torch.optim.SGD``'s single-tensor path, the one it
takes for CPU tensors, in the same order, and keeps its state in the same
form, so parameters and checkpoints are bit for bit the same
(``tests/test_sgd_engines.py``). On other devices ``torch.optim.SGD`` runs,
whose batched (foreach) path may round differently.
"""

from __future__ import annotations

import torch

TORCH = {
    "sgd": lambda params, lr, momentum, wd: torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd),
    "adam": lambda params, lr, momentum, wd: torch.optim.Adam(params, lr=lr, weight_decay=wd),
    "rmsprop": lambda params, lr, momentum, wd: torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=wd),
}
ALGORITHMS = tuple(TORCH)


class TorchUpdate:
    """A ``torch.optim`` optimizer of the one tensor ``theta``."""

    def __init__(self, algorithm: str, theta: torch.Tensor, lr: float, momentum: float, weight_decay: float):
        self.optimizer = TORCH[algorithm]([theta], lr, momentum, weight_decay)

    def step(self) -> None:
        self.optimizer.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=False)

    def state(self) -> dict:
        """The optimizer's state of ``theta`` (a momentum buffer, Adam's moments...), as a checkpoint keeps it."""
        return self.optimizer.state_dict()["state"].get(0, {})

    def load(self, state: dict) -> None:
        self.optimizer.load_state_dict({"state": {0: state}, "param_groups": self.optimizer.state_dict()["param_groups"]})


class SGD:
    """``torch.optim.SGD([theta], lr, momentum, weight_decay)`` on the CPU: the same operations, the same state."""

    def __init__(self, theta: torch.Tensor, lr: float, momentum: float, weight_decay: float):
        self.theta, self.lr, self.momentum, self.weight_decay = theta, lr, momentum, weight_decay
        self.buffer: torch.Tensor | None = None

    @torch.no_grad()
    def step(self) -> None:
        grad = self.theta.grad
        if grad is None:
            return
        if self.weight_decay != 0:
            grad = grad.add(self.theta, alpha=self.weight_decay)
        if self.momentum != 0:
            if self.buffer is None:
                self.buffer = grad.detach().clone()
            else:
                self.buffer.mul_(self.momentum).add_(grad, alpha=1)  # torch's 1 - dampening, dampening 0
            grad = self.buffer
        self.theta.add_(grad, alpha=-self.lr)

    def zero_grad(self) -> None:
        if self.theta.grad is not None:
            self.theta.grad.zero_()

    def state(self) -> dict:
        return {"momentum_buffer": self.buffer} if self.buffer is not None else {}

    def load(self, state: dict) -> None:
        buffer = state.get("momentum_buffer")
        self.buffer = None if buffer is None or self.momentum == 0 else buffer.to(self.theta)


def population_update(algorithm: str, theta: torch.Tensor, lr: float, momentum: float, weight_decay: float):
    """The update of ``algorithm`` (``sgd``, ``adam`` or ``rmsprop``) for the leaf tensor ``theta``."""
    if algorithm == "sgd" and theta.device.type == "cpu":
        return SGD(theta, lr, momentum, weight_decay)
    return TorchUpdate(algorithm, theta, lr, momentum, weight_decay)
