"""Populations: M models of one architecture held as one flat parameter tensor.

A population's parameters are a tensor ``theta`` of shape ``[M, P]``: row m is
model m, flattened in the order of the architecture's :class:`ParamBlock` s.
Optimizers only ever see ``theta``; the model turns it into logits with one
batched forward pass. Keeping the representation flat lets Guess & Check draw
a whole population with a single random call, pattern search move single
coordinates, and random greedy search add noise without knowing the layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# Starting-point rules an optimizer can name: U[-radius, radius] for every parameter (Guess & Check's),
# PyTorch's layer default (1/sqrt(fan_in)), or the reference implementation's "regular" rule.
INITS = ("uniform", "default", "regular")


@dataclass(frozen=True)
class ParamBlock:
    """One parameter tensor of a single model.

    ``fan_in`` sets PyTorch's default initialization bound 1/sqrt(fan_in).
    ``in_norm`` marks weight tensors that enter the normalized-loss scale.
    """

    name: str
    shape: tuple[int, ...]
    fan_in: int
    in_norm: bool

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


class PopulationModel:
    """An architecture that evaluates a population of models at once.

    Subclasses set ``blocks`` (the layout of one model) and implement
    :meth:`forward` and :meth:`norm_scale`.
    """

    blocks: tuple[ParamBlock, ...] = ()
    input_shape: tuple[int, ...] = ()
    num_classes: int = 2

    @property
    def num_params(self) -> int:
        return sum(block.numel for block in self.blocks)

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views ``[M, *shape]`` of each block (no copy)."""
        m = theta.shape[0]
        # split, not slicing: its backward is one concatenation instead of a zero-filled
        # full-size gradient per block, which dominated SGD steps on small batches.
        parts = theta.split([block.numel for block in self.blocks], dim=1)
        return {block.name: part.view(m, *block.shape) for block, part in zip(self.blocks, parts)}

    def init_uniform(self, m: int, radius: float, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """Every parameter i.i.d. U[-radius, radius], as Guess & Check draws them."""
        theta = torch.empty(m, self.num_params, device=device)
        return theta.uniform_(-radius, radius, generator=generator)

    def init_default(self, m: int, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """PyTorch's default layer initialization: U[-1/sqrt(fan_in), 1/sqrt(fan_in)] per block."""
        return self.init_bounded(m, [1.0 / math.sqrt(b.fan_in) for b in self.blocks], generator, device)

    def init_regular(self, m: int, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """The reference implementation's "regular" initialization.

        Its linear and MLP models override this (weights by fan-out, biases
        U[-1, 1]); for any other architecture the reference resets its layers
        to PyTorch's default, so that is what this gives.
        """
        return self.init_default(m, generator, device)

    def init_bounded(self, m: int, bounds, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """Every parameter of block i i.i.d. U[-bounds[i], bounds[i]] (one bound per block, in order)."""
        theta = torch.empty(m, self.num_params, device=device)
        theta.uniform_(-1.0, 1.0, generator=generator)
        scale = torch.cat([torch.full((b.numel,), float(bound)) for b, bound in zip(self.blocks, bounds, strict=True)])
        return theta.mul_(scale.to(device))

    def initial(self, init: str, m: int, radius: float, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """``m`` starting points by the rule an optimizer's ``init`` parameter names (one of :data:`INITS`)."""
        if init == "uniform":
            return self.init_uniform(m, radius, generator, device)
        if init == "default":
            return self.init_default(m, generator, device)
        if init == "regular":
            return self.init_regular(m, generator, device)
        raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[M, N, C]`` of every model on every input ``x[N, *input_shape]``."""
        raise NotImplementedError

    # Optional: a split into a feature stage and a head. Models that agree on the
    # columns before ``head_start`` have the same features, so a search whose
    # candidates differ from one point only in the head computes the features once.
    # Like the capabilities below, it counts only where the model's own class defines ``head``.
    head_start: int | None = None

    def features(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Features ``[M, N, F]`` (only with ``head_start``)."""
        raise NotImplementedError

    def head(self, theta: torch.Tensor, shared: torch.Tensor) -> torch.Tensor:
        """Logits ``[M, N, C]`` from features ``shared[N, F]`` that every model in ``theta`` has."""
        raise NotImplementedError

    def norm_scale(self, theta: torch.Tensor) -> torch.Tensor:
        """Per-model divisor ``[M]`` of the logits for the normalized loss."""
        raise NotImplementedError

    # Optional capabilities: faster ways to compute the forward pass's function, which engines ask a model for
    # instead of testing its class. Each counts only where the model's own class defines it, or the model itself
    # sets it (:func:`declared`): a subclass that changes the forward pass never runs its parent's fast path.

    # ``single_moves(point[1, P], x, previous)`` returns an object whose ``evaluate(index[K], delta[K])``
    # gives the logits ``[K, N, C]`` and norm scales ``[K]`` of copies of the point each moved at one coordinate, and
    # whose ``logits``/``scale`` are the point's own (``previous``: such an object for an earlier point, or None);
    # pattern search then skips the copies and their forward passes.
    single_moves = None

    # ``compiled_logits(theta, x)`` gives ``forward``'s logits up to float32 rounding from a compiled kernel,
    # or None where it has none (no compiler, another device or dtype); test accuracies use it (zoo.evaluate).
    compiled_logits = None

    def probe(self, x: torch.Tensor):
        """A *probe* on the training inputs ``x``, or None: ``probe(theta[S, P], samples: slice)`` gives the logits
        ``[S, g, C]`` of those samples and their rounding scale ``[S, g]`` (the sum over classes of |W| h + |b|
        through the last layer), so that Guess & Check judges guesses a few samples at a time and tells a clear
        call from a close one (:mod:`zoo.models.probes` holds the built-in models' probes)."""
        return None

    def reference_probe(self, x: torch.Tensor):
        """The same logits and scale computed the reference implementation's way, or None: the fast probe is that."""
        return None

    def kernel_constants(self) -> tuple[tuple[str, int], ...] | None:
        """This model's shape as the compile-time constants of zoo's C kernels for LeNet (the Guess & Check judge,
        the SGD gradient), or None: defined by a model that computes LeNet's function as those kernels do."""
        return None

    def describe(self) -> str:
        return f"{type(self).__name__}({self.num_params} parameters)"


def declared(model: PopulationModel, capability: str):
    """``model``'s capability when its own class defines it or the model itself sets it (None turns it off), else None.

    An inherited one does not count: a subclass that changes the forward pass
    would otherwise be judged by its parent's probe or run by its parent's kernel.
    """
    if capability in vars(model):
        return vars(model)[capability]
    return getattr(model, capability) if capability in vars(type(model)) else None


def frobenius(view: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of each model's tensor in a ``[M, ...]`` view."""
    return view.flatten(1).norm(dim=1)
