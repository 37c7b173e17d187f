"""Which rule did a model learn on the slab data: the linear one or the slab one?

On the slab data (:func:`zoo.tasks.toys.sample_slab`) two features each
separate the classes on their own: x1 (a linear rule, the sign of x1) and x2
(three slabs, a non-linear rule). Two probe sets built from fresh slab
samples tell which one a model uses: in the *linear probe* the x2 values are
shuffled across samples, so only x1 still carries the label; in the *slab
probe* the x1 values are shuffled, so only x2 does. A model follows a rule
when it labels at least ``agreement`` of that rule's probe right (all of it by
default). No model can follow both: each probe holds points that the other
labels the other way. A model that follows neither is *mixed*: its label
depends on both coordinates (it fences in one class's cluster, say), so it is
non-linear without being the slab rule. The paper's Figure 3 counts the rules
that Guess & Check finds with a 40-unit MLP; simplicity bias would show as
mostly linear ones.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.rebuild import stored_models
from zoo.reports import Table
from zoo.tasks.toys import sample_slab

RULES = ("linear", "slab", "mixed")
AGREEMENT = 0.99  # for figures; the table shows every level of AGREEMENTS
AGREEMENTS = (1.0, 0.99, 0.95)


def probes(margin: float, count: int = 2000, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"linear": (x, y), "slab": (x, y)}``: slab samples with one feature shuffled."""
    rng = np.random.default_rng([seed, 0x51AB])
    out = {}
    for rule, shuffled in (("linear", 1), ("slab", 0)):
        x, y = sample_slab(count, margin, rng)
        x[:, shuffled] = rng.permutation(x[:, shuffled])
        out[rule] = (torch.from_numpy(x).float(), torch.from_numpy(y))
    return out


@torch.no_grad()
def classify(model, theta: torch.Tensor, margin: float, agreement: float = 1.0, count: int = 2000, seed: int = 0) -> list[str]:
    """The rule each model of ``theta[K, P]`` follows: ``linear``, ``slab`` or ``mixed`` (neither)."""
    follows = {}
    for rule, (x, y) in probes(margin, count, seed).items():
        accuracy = (model.forward(theta, x).argmax(-1) == y).float().mean(1)
        follows[rule] = accuracy >= agreement
    return ["linear" if lin else "slab" if slab else "mixed"
            for lin, slab in zip(follows["linear"].tolist(), follows["slab"].tolist())]


def tally(rules: list[str]) -> dict[str, int]:
    return {rule: rules.count(rule) for rule in RULES}


def table(store, records: list[dict]) -> Table | None:
    """Rule counts of every slab cell with stored models, at each probe agreement level."""
    rows = []
    for record in records:
        loaded = record["task"] == "slab" and stored_models(store, record)
        if not loaded:
            continue
        _, model, theta = loaded
        row = [record["label"], record["n"], record["seed"], len(theta)]
        for level in AGREEMENTS:
            counts = tally(classify(model, theta, record["spec"]["task"]["params"]["margin"], level))
            row.append(" / ".join(str(counts[rule]) for rule in RULES))
        rows.append(row)
    if not rows:
        return None
    return Table(
        f"{records[0]['bench']}: rules of the stored slab models (linear / slab / mixed)",
        ["optimizer", "n", "seed", "models"] + [f"agreement {level:.0%}" for level in AGREEMENTS],
        rows,
        "a model follows a rule when it labels that share of the rule's probe right (zoo/slab.py)",
    )
