"""Any ``torch.nn.Module`` as a population model, without batched code.

The built-in models are written against ``theta[M, P]`` by hand (one GEMM or
grouped convolution for all M models). :class:`ModulePopulation` gets the same
interface from an ordinary module: ``theta`` is cut into the module's
parameter tensors, each with a leading model axis, and
``torch.func.vmap`` over ``torch.func.functional_call`` runs the module once
per model in a single vectorized call. It costs speed against hand-batched
code (see docs/plugins.md for measured ratios) and asks nothing of the author.

A plugin registers one with :func:`module_model`::

    @hookimpl
    def zoo_models():
        return [module_model("my_net", MyNet)]

where ``MyNet(input_shape, num_classes, **params)`` builds the module and its
keyword defaults become the model's manifest parameters. The module runs in
eval mode (dropout off, batch norm on its running statistics); buffers are
shared by all models and are not part of ``theta``.
"""

from __future__ import annotations

import copy
import inspect
import math
import threading
from dataclasses import replace
from typing import Callable, Mapping, Union

import torch
from torch import nn
from torch.func import functional_call, vmap

from zoo.population import ParamBlock, PopulationModel, frobenius
from zoo.registry import UNSET, Param, PluginSpec

Norm = Union[str, Callable[[dict], torch.Tensor]]
NORMS = ("weights", "none")


class ModulePopulation(PopulationModel):
    """A population of copies of ``factory(input_shape, num_classes, **params)``.

    ``norm`` sets the normalized-loss scale: ``"weights"`` is the product of
    the Frobenius norms of every parameter with two or more dimensions (the
    rule of the built-in linear model and MLP), ``"none"`` divides by 1 (the
    normalized loss is then the plain cross-entropy), and a callable receives
    the ``[M, *shape]`` views by parameter name and returns the ``[M]`` scale.
    """

    def __init__(self, factory: Callable[..., nn.Module], input_shape, num_classes, norm: Norm = "weights", **params):
        if not callable(norm) and norm not in NORMS:
            raise ValueError(f"norm must be one of {list(NORMS)} or a callable, got {norm!r}")
        self.input_shape, self.num_classes, self.norm = tuple(input_shape), num_classes, norm
        self.build_module = lambda: factory(input_shape=self.input_shape, num_classes=num_classes, **params)
        self.module = self.build_module().eval()
        self.blocks = tuple(
            ParamBlock(name, tuple(p.shape), _fan_in(p), norm == "weights" and p.dim() >= 2)
            for name, p in self.module.named_parameters()
        )
        self.buffers = dict(self.module.named_buffers())
        self.copies: dict[int, nn.Module] = {}  # thread id -> that thread's module
        with torch.no_grad():
            out = self.module(torch.zeros(2, *self.input_shape))
        if tuple(out.shape) != (2, num_classes):
            raise ValueError(f"{type(self.module).__name__} maps 2 inputs of shape {self.input_shape} to "
                             f"{tuple(out.shape)}; a zoo model must return logits [N, {num_classes}]")

    def forward(self, theta, x):
        module = self.thread_module()
        buffers = {name: b.to(x.device) for name, b in self.buffers.items()}
        run_one = lambda params: functional_call(module, (params, buffers), (x,))  # noqa: E731
        return vmap(run_one)(self.unflatten(theta))

    def thread_module(self) -> nn.Module:
        """This thread's copy of the module: functional_call swaps tensors on the module while it runs,
        so searches that evaluate from several threads (Guess & Check) must not share one."""
        thread = threading.get_ident()
        if thread not in self.copies:
            self.copies[thread] = copy.deepcopy(self.module)
        return self.copies[thread]

    def norm_scale(self, theta):
        if callable(self.norm):
            return self.norm(self.unflatten(theta))
        views = self.unflatten(theta)
        scale = torch.ones(theta.shape[0], device=theta.device, dtype=theta.dtype)
        for block in self.blocks:
            if block.in_norm:
                scale = scale * frobenius(views[block.name])
        return scale

    def init_default(self, m, generator=None, device="cpu"):
        """The module's own initialization, whatever its factory does: m fresh modules."""
        where = generator.device if generator is not None else "cpu"
        seed = int(torch.randint(2**62, (1,), generator=generator, device=where))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            rows = [torch.cat([p.detach().flatten() for p in self.build_module().parameters()]) for _ in range(m)]
        return torch.stack(rows).to(device)

    def describe(self) -> str:
        return f"{type(self.module).__name__} via vmap ({self.num_params} parameters)"


def _fan_in(p: torch.Tensor) -> int:
    """PyTorch's fan-in of a weight; a vector counts its length (init_default does not use it)."""
    return math.prod(p.shape[1:]) if p.dim() >= 2 else p.shape[0]


def module_model(name: str, factory: Callable[..., nn.Module], norm: Norm = "weights", summary: str = "",
                 params: Mapping[str, Param | str] | None = None) -> PluginSpec:
    """A model spec for ``factory(input_shape, num_classes, **params)``.

    The factory's keyword defaults are the model's parameters in a manifest.
    ``params`` describes them further: a :class:`~zoo.registry.Param` per
    keyword (its help, types and choices; its default, when given, replaces
    the keyword's) or just the help text.
    """
    described = dict(params or {})
    found = {}
    for key, p in inspect.signature(factory).parameters.items():
        if key in ("input_shape", "num_classes") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.default is p.empty:
            raise TypeError(f"model {name!r}: factory parameter {key!r} needs a default (it becomes a manifest parameter)")
        given = described.pop(key, Param())
        given = Param(help=given) if isinstance(given, str) else given
        found[key] = given if given.default is not UNSET else replace(given, default=p.default)
    if described:
        raise TypeError(f"model {name!r}: params names {', '.join(sorted(described))}, which {factory.__name__} does not take")
    doc = (inspect.getdoc(factory) or "").split("\n")[0]
    build = lambda input_shape, num_classes, **kw: ModulePopulation(factory, input_shape, num_classes, norm, **kw)  # noqa: E731
    return PluginSpec(name, build, found, summary or doc or f"torch module {factory.__name__} via vmap")
