"""Decision boundaries of stored models on the 2-D toys.

Each panel shows the training points, the boundary of every stored model of
one cell as a thin line, and in the background the share of those models
that predict class 1. Rows are optimizers, columns the bench's other axes
(e.g. the hidden width, the paper's Figure 2) and training-set sizes; a
panel shows the cell with the smallest seed (and first loss bin).
"""

from __future__ import annotations

from pathlib import Path

import torch

from zoo import slab as slab_rules
from zoo.plotting import panel_grid, pyplot, save
from zoo.rebuild import stored_models
from zoo.registry import default_registry
from zoo.reports.bins import axes_text, group

LIMIT, STEPS, MAX_LINES = 1.1, 161, 40
WRAP = 4  # panels per row when a bench has one column of cells
COLORS = ("#d62728", "#1f77b4")  # class 0, class 1


def is_2d(record: dict) -> bool:
    task = record["spec"]["task"]
    return tuple(default_registry().get("task", task["name"]).build(**task["params"]).input_shape) == (2,)


@torch.no_grad()
def class1_margin(model, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The grid axis and each model's logit margin for class 1, ``[K, STEPS, STEPS]``."""
    axis = torch.linspace(-LIMIT, LIMIT, STEPS)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    logits = model.forward(theta, grid)
    return axis, (logits[..., 1] - logits[..., 0]).view(-1, STEPS, STEPS)


def draw(ax, model, theta, problem, title: str, poisoned: int | None = None) -> None:
    """One panel; with ``poisoned`` set, the test points too, the first ``poisoned`` of them outlined."""
    axis, margin = class1_margin(model, theta[:MAX_LINES])
    share = (margin > 0).float().mean(0)
    ax.imshow(share, extent=(-LIMIT, LIMIT, -LIMIT, LIMIT), origin="lower", cmap="RdBu", vmin=0, vmax=1, alpha=0.35)
    for m in margin:
        if m.min() < 0 < m.max():
            ax.contour(axis, axis, m, levels=[0], colors="k", linewidths=0.6, alpha=0.5)
    colors = [COLORS[int(c)] for c in problem.y_train]
    ax.scatter(problem.x_train[:, 0], problem.x_train[:, 1], c=colors, s=18, edgecolors="k", linewidths=0.5, zorder=3)
    if poisoned is not None:
        edges = ["k" if i < poisoned else "none" for i in range(len(problem.y_test))]
        ax.scatter(problem.x_test[:, 0], problem.x_test[:, 1], marker="*", s=160, zorder=4,
                   c=[COLORS[int(c)] for c in problem.y_test], edgecolors=edges, linewidths=1.2)
    ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), xticks=[], yticks=[], aspect="equal")
    ax.set_title(title, fontsize=8)


def poisoned_count(record: dict, problem) -> int:
    """How many leading test points the cell's optimizer poisoned (its ``poison``; 0 means all)."""
    poison = record["spec"]["optimizer"]["params"].get("poison")
    return 0 if poison is None else poison or len(problem.y_test)


def _stored_panels(store, records):
    """``{(label, column): (record, problem, model, theta)}`` for cells with stored models."""
    panels = {}
    for key, rs in group(records, lambda r: (r["label"], (tuple(sorted(r["axes"].items())), r["n"]))).items():
        rs = sorted(rs, key=lambda r: (r["seed"], r["bin"] or ()))
        loaded = stored_models(store, rs[0])
        if loaded:
            panels[key] = (rs[0], *loaded)
    return panels


def _panel_figure(store, records, out_dir: Path, stem: str, show_test: bool) -> list[Path]:
    records = [r for r in records if is_2d(r)]
    panels = _stored_panels(store, records)
    if not panels:
        return []
    plt = pyplot()
    labels = list(dict.fromkeys(label for label, _ in panels))
    columns = sorted({column for _, column in panels})
    if len(columns) > 1:  # rows: optimizers, columns: the other axes
        places = {(label, column): (i, j) for i, label in enumerate(labels) for j, column in enumerate(columns)}
        shape = (len(labels), len(columns))
    else:  # one panel per optimizer, wrapped
        width = min(WRAP, len(labels))
        places = {(label, columns[0]): divmod(k, width) for k, label in enumerate(labels)}
        shape = (-(-len(labels) // width), width)
    fig, axes = panel_grid(plt, *shape)
    for ax in axes.flat:
        ax.set_axis_off()
    for key, (i, j) in places.items():
        if key not in panels:
            continue
        record, problem, model, theta = panels[key]
        (axes_key, n) = key[1]
        test = record["metrics"]["test_acc"]["mean"]
        title = f"{key[0]}{axes_text(axes_key)}, n={n}\n{len(theta)} models, test {test * 100:.0f}%"
        axes[i][j].set_axis_on()
        draw(axes[i][j], model, theta, problem, title, poisoned_count(record, problem) if show_test else None)
    first = records[0]
    fig.suptitle(f"{first['bench']}: {first['task']}, {first['model']}", fontsize=10)
    return save(fig, out_dir, f"{first['bench']}-{stem}")


def boundaries(store, records: list[dict], out_dir: Path) -> list[Path]:
    """Boundaries of every optimizer's stored models on a 2-D task (Figure 2 on the kink toy)."""
    return _panel_figure(store, records, out_dir, "boundaries", show_test=False)


def poison_toy(store, records: list[dict], out_dir: Path) -> list[Path]:
    """Boundaries on the poisoning toy; stars are test points, outlined where they were poisoned."""
    return _panel_figure(store, [r for r in records if r["task"] == "poison_toy"], out_dir, "poison-toy", show_test=True)


def slab(store, records: list[dict], out_dir: Path) -> list[Path]:
    """Stored slab models sorted into the rule they follow (Figure 3): one column per rule."""
    records = [r for r in records if r["task"] == "slab"]
    panels = _stored_panels(store, records)
    if not panels:
        return []
    plt = pyplot()
    fig, axes = panel_grid(plt, len(panels), len(slab_rules.RULES))
    for i, ((label, (axes_key, n)), (record, problem, model, theta)) in enumerate(panels.items()):
        rules = slab_rules.classify(model, theta, record["spec"]["task"]["params"]["margin"], slab_rules.AGREEMENT)
        for j, rule in enumerate(slab_rules.RULES):
            chosen = theta[torch.tensor([r == rule for r in rules], dtype=torch.bool)]
            title = f"{label}{axes_text(axes_key)}, n={n}\n{rule}: {len(chosen)} of {len(theta)}"
            if len(chosen):
                draw(axes[i][j], model, chosen, problem, title)
            else:
                axes[i][j].set_axis_off()
                axes[i][j].set_title(title, fontsize=8)
    first = records[0]
    fig.suptitle(f"{first['bench']}: rules followed at {slab_rules.AGREEMENT:.0%} probe agreement", fontsize=10)
    return save(fig, out_dir, f"{first['bench']}-slab")
