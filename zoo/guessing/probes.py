"""The probes Guess & Check judges guesses with, asked of the model.

A model offers a fast probe and may offer a reference one (the population
protocol: :meth:`zoo.population.PopulationModel.probe`, the built-in models'
in :mod:`zoo.models.probes`); only those its own class declares count. A model
without one (a third party's) is judged by its forward pass.
"""

from __future__ import annotations

import torch

from zoo.population import declared


def has_probe(model) -> bool:
    return declared(model, "probe") is not None


def probe_for(model, x: torch.Tensor):
    """The probe of ``model`` on the training inputs ``x``."""
    return declared(model, "probe")(x)


def reference_probe(model, x: torch.Tensor):
    """The reference computation of logits and rounding scale, or None for a model without a probe."""
    probe = declared(model, "reference_probe") or declared(model, "probe")
    return probe(x) if probe else None
