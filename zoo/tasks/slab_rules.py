"""Which rule did a model learn on the slab data: the linear one or a non-linear one?

The slab data (:mod:`zoo.tasks.toys`) can be separated by a linear rule and
by a non-linear one; purpose-built probe sets tell which one a model follows.
A model follows a rule when it labels at least ``agreement`` of that rule's
probe right (all of it by default, as the reference counts).

Reference layout (the paper's Figure 3; four alternating slabs). The
*linear probe* is two columns of points just either side of x1 = 0
(x1 = ±0.1, 30 heights from 1 to -1; right: class 0, left: class 1): a model
whose boundary is the vertical line between the slabs labels them right.
The *non-linear probe* is the zigzag through the gaps between the slabs (from
slab centre to slab centre, crossing x1 = 0 at each gap), ten points per
segment, shifted 0.1·√2 to the right (class 0) and to the left (class 1): a
model whose boundary follows the slabs labels them right. The outcomes are
``linear``, ``non-linear``, ``both`` (possible only with a boundary that
crosses the same height three times) and ``neither``.

Uniform layout (zoo's own; a linear rule along x1, three slabs along x2).
The probes are fresh slab samples with one feature shuffled: in the *linear
probe* the x2 values are shuffled across samples, so only x1 still carries
the label; in the *slab probe* the x1 values are, so only x2 does. No model
can follow both; one that follows neither is ``mixed``: its label depends on
both coordinates.
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.rebuild import stored_models
from zoo.reports import Table
from zoo.tasks.toys import SLAB_GAP, SLAB_SIDE_GAP, SLABS, sample_slab, slab_height

RULES = {"reference": ("linear", "non-linear", "both", "neither"), "uniform": ("linear", "slab", "mixed")}
AGREEMENT = 0.99  # for figures; the table shows every level of AGREEMENTS
AGREEMENTS = (1.0, 0.99, 0.95)
LINEAR_HEIGHTS, ZIGZAG_POINTS = 30, 10  # the reference's probe sizes


def two_sided(centre: np.ndarray, shift: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``centre`` moved right by ``shift`` (class 0) and left (class 1)."""
    offset = np.array([shift, 0.0])
    x = np.concatenate([centre + offset, centre - offset])
    y = np.concatenate([np.zeros(len(centre)), np.ones(len(centre))]).astype(np.int64)
    return torch.from_numpy(x).float(), torch.from_numpy(y)


def zigzag() -> np.ndarray:
    """Points on the zigzag from the lowest slab's centre to the top one's, through the middle of every gap."""
    height, segments = slab_height(), []
    sign = (-1) ** SLABS
    for i in range(SLABS - 1):
        start = -1 + height / 2 + i * (height + SLAB_GAP)  # centre of slab i from the bottom
        crossing = -1 + height + SLAB_GAP / 2 + i * (height + SLAB_GAP)  # centre of the gap above it
        x2 = np.linspace(start, start + height + SLAB_GAP, ZIGZAG_POINTS)
        segments.append(np.stack([(x2 - crossing) * sign, x2], axis=1))
        sign = -sign
    return np.concatenate(segments)


def reference_probes() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    column = np.stack([np.zeros(LINEAR_HEIGHTS), np.linspace(1, -1, LINEAR_HEIGHTS)], axis=1)
    return {"linear": two_sided(column, SLAB_SIDE_GAP), "non-linear": two_sided(zigzag(), SLAB_SIDE_GAP * 2 ** 0.5)}


def shuffled_probes(margin: float, count: int = 2000, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"linear": (x, y), "slab": (x, y)}``: uniform-layout slab samples with one feature shuffled."""
    rng = np.random.default_rng([seed, 0x51AB])
    out = {}
    for rule, shuffled in (("linear", 1), ("slab", 0)):
        x, y = sample_slab(count, margin, rng)
        x[:, shuffled] = rng.permutation(x[:, shuffled])
        out[rule] = (torch.from_numpy(x).float(), torch.from_numpy(y))
    return out


def probes(layout: str, margin: float) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return reference_probes() if layout == "reference" else shuffled_probes(margin)


@torch.no_grad()
def classify(model, theta: torch.Tensor, layout: str, margin: float, agreement: float = 1.0) -> list[str]:
    """The rule each model of ``theta[K, P]`` follows, one of ``RULES[layout]``."""
    follows = {}
    for rule, (x, y) in probes(layout, margin).items():
        follows[rule] = ((model.forward(theta, x).argmax(-1) == y).float().mean(1) >= agreement).tolist()
    if layout == "reference":
        names = {(True, False): "linear", (False, True): "non-linear", (True, True): "both", (False, False): "neither"}
        return [names[pair] for pair in zip(follows["linear"], follows["non-linear"])]
    return ["linear" if lin else "slab" if slab else "mixed" for lin, slab in zip(follows["linear"], follows["slab"])]


def layout_of(record: dict) -> tuple[str, float]:
    """The slab layout and margin a record's task was built with (stores from before layouts: uniform)."""
    params = record["spec"]["task"]["params"]
    return params.get("layout", "uniform"), params.get("margin", 0.1)


def table(store, records: list[dict]) -> Table | None:
    """Rule counts of the stored slab models, seeds pooled per optimizer and n, at each probe agreement level."""
    counts, rules = {}, None
    for record in sorted(records, key=lambda r: r["seed"]):
        loaded = record["task"] == "slab" and stored_models(store, record)
        if not loaded:
            continue
        _, model, theta = loaded
        layout, margin = layout_of(record)
        rules = RULES[layout]
        entry = counts.setdefault((record["label"], record["n"]), {"seeds": 0, "models": 0, "found": {a: [] for a in AGREEMENTS}})
        entry["seeds"] += 1
        entry["models"] += len(theta)
        for level in AGREEMENTS:
            entry["found"][level] += classify(model, theta, layout, margin, level)
    if not counts:
        return None
    rows = [[label, n, entry["seeds"], entry["models"]]
            + [" / ".join(str(entry["found"][level].count(rule)) for rule in rules) for level in AGREEMENTS]
            for (label, n), entry in counts.items()]
    return Table(
        f"{records[0]['bench']}: rules of the stored slab models ({' / '.join(rules)})",
        ["optimizer", "n", "seeds", "models"] + [f"agreement {level:.0%}" for level in AGREEMENTS],
        rows,
        "seeds pooled; a model follows a rule when it labels that share of the rule's probe right (zoo/tasks/slab_rules.py)",
    )
