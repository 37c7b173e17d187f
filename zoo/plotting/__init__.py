"""Figures from a results store (matplotlib, the optional extra ``zoo[plots]``).

Each figure kind is a function ``(store, records, out_dir) -> list[Path]``
taking the records of one bench and returning the files it wrote (a PNG and
an SVG per figure), or an empty list when the bench has nothing to show for
that kind. :data:`KINDS` names them; ``zoo plot`` calls them.
"""

from __future__ import annotations

import re
from pathlib import Path

from zoo.errors import ZooError

KINDS = {
    "boundaries": "zoo.plotting.boundaries:boundaries",
    "poison-toy": "zoo.plotting.boundaries:poison_toy",
    "slab": "zoo.plotting.boundaries:slab",
    "accuracy": "zoo.plotting.curves:accuracy",
    "volume": "zoo.plotting.curves:volume",
    "anytime": "zoo.plotting.anytime:anytime",
}


def pyplot():
    """matplotlib's pyplot on a file-only backend, or a clear message how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise ZooError("zoo plot needs matplotlib; install it with: pip install 'zoo[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_kind(name: str):
    import importlib

    module, _, function = KINDS[name].partition(":")
    return getattr(importlib.import_module(module), function)


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    """Write ``fig`` as PNG and SVG under ``out_dir`` and close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-")
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def panel_grid(plt, rows: int, cols: int, size: float = 2.6, sharey: bool = False):
    """A figure with ``rows`` x ``cols`` axes, always as a 2-D array (``sharey``: one y scale for all)."""
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + 0.6, (size + 0.4) * rows + 0.4), squeeze=False, sharey=sharey,
                             constrained_layout=True)
    return fig, axes


def panel_title(loss_bin, axes_key: tuple) -> str:
    """What a panel holds: its loss bin, said as such, and the bench's other axes."""
    from zoo.reports.bins import axes_text

    parts = ([f"loss bin ({loss_bin[0]:g}, {loss_bin[1]:g}]"] if loss_bin else []) + [axes_text(axes_key).strip(", ")]
    return ", ".join(p for p in parts if p)
