"""Decision boundaries of stored models on the 2-D toys.

Each panel shows training points, the boundary of each stored model as a
thin line (at most 40), and in the background the share of the models that
predict class 1 (the colorbar). Rows are optimizers, columns the bench's
other axes (e.g. the hidden width, the paper's Figure 2) and training-set
sizes. Which seeds a panel shows is in its title: on a task whose training
set is the same for every model of the cell (the kink), the smallest data
seed with stored models, with how many seeds the cell has; on the slab data,
where the reference draws a fresh data seed per model, the models of every
seed pooled, drawn over the training points of the smallest seed. A cell
without any stored model still gets its panel, saying so.
"""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.plotting import panel_grid, panel_title, pyplot, save
from zoo.rebuild import stored_models
from zoo.registry import default_registry
from zoo.reports.bins import group
from zoo.tasks import slab_rules

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


def draw(ax, model, theta, problem, title: str, poisoned: int | None = None):
    """One panel; with ``poisoned`` set, the test points too, the first ``poisoned`` of them outlined.

    Returns the shading's image, for the figure's colorbar.
    """
    axis, margin = class1_margin(model, theta[:MAX_LINES])
    share = (margin > 0).float().mean(0)
    image = ax.imshow(share, extent=(-LIMIT, LIMIT, -LIMIT, LIMIT), origin="lower", cmap="RdBu", vmin=0, vmax=1, alpha=0.35)
    for m in margin:
        if m.min() < 0 < m.max():
            ax.contour(axis, axis, m, levels=[0], colors="k", linewidths=0.6, alpha=0.5)
    colors = [COLORS[int(c)] for c in problem.y_train]
    ax.scatter(problem.x_train[:, 0], problem.x_train[:, 1], c=colors, s=18, edgecolors="k", linewidths=0.5, zorder=3)
    if poisoned is not None:
        edges = ["k" if i < poisoned else "none" for i in range(len(problem.y_test))]
        ax.scatter(problem.x_test[:, 0], problem.x_test[:, 1], marker="*", s=160, zorder=4,
                   c=[COLORS[int(c)] for c in problem.y_test], edgecolors=edges, linewidths=1.2)
    frame(ax, title)
    return image


def frame(ax, title: str) -> None:
    """Axes of a panel: the input square with ticks and labels."""
    ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), xticks=[-1, 0, 1], yticks=[-1, 0, 1], aspect="equal")
    ax.set_xlabel("x1", fontsize=7, labelpad=1)
    ax.set_ylabel("x2", fontsize=7, labelpad=1)
    ax.tick_params(labelsize=6, length=2, pad=1)
    ax.set_title(title, fontsize=7)


def shading_bar(fig, axes, image) -> None:
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="share of models predicting class 1 (blue)")


def poisoned_count(record: dict, problem) -> int:
    """How many leading test points the cell's optimizer poisoned (its ``poison``; 0 means all)."""
    poison = record["spec"]["optimizer"]["params"].get("poison")
    return 0 if poison is None else poison or len(problem.y_test)


def pools_seeds(records: list[dict]) -> bool:
    """Whether a panel pools its seeds: on the reference slab data, where every model has its own data seed."""
    task = records[0]["spec"]["task"]
    return task["name"] == "slab" and task["params"].get("layout") == "reference"


def _panels(store, records):
    """``{(label, column): (record, loaded or None, seed note)}``, one per cell of the figure, seeds picked or pooled."""
    panels = {}
    pool = pools_seeds(records)
    for key, rs in group(records, lambda r: (r["label"], (tuple(sorted(r["axes"].items())), r["n"], tuple(r["bin"] or ())))).items():
        rs = sorted(rs, key=lambda r: r["seed"])
        loaded = [(r, stored_models(store, r)) for r in rs]
        loaded = [(r, got) for r, got in loaded if got]
        seeds = len({r["seed"] for r in rs})
        if not loaded:
            panels[key] = (rs[0], None, f"no stored model in {seeds} seed{'s' * (seeds > 1)}")
        elif pool:
            record, (problem, model, _) = loaded[0]
            theta = torch.cat([got[2] for _, got in loaded])
            note = f"{len(loaded)} seeds pooled, points of seed {record['seed']}"
            panels[key] = (record, (problem, model, theta), note)
        else:
            record, got = loaded[0]
            panels[key] = (record, got, f"seed {record['seed']} of {seeds}")
    return panels


def _panel_figure(store, records, out_dir: Path, stem: str, show_test: bool) -> list[Path]:
    records = [r for r in records if is_2d(r)]
    if not records:  # images, not points in the plane: no boundaries to draw
        return []
    panels = _panels(store, records)
    if not any(loaded for _, loaded, _ in panels.values()):
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
    image = None
    for key, (i, j) in places.items():
        if key not in panels:
            continue
        record, loaded, note = panels[key]
        axes_key, n, loss_bin = key[1]
        head = f"{key[0]}, n={n}" + (f", {panel_title(loss_bin, axes_key)}" if loss_bin or axes_key else "")
        axes[i][j].set_axis_on()
        if loaded is None:
            frame(axes[i][j], f"{head}\n{note}")
            continue
        problem, model, theta = loaded
        test = record["metrics"]["test_acc"]["mean"]
        title = f"{head}\n{len(theta)} models" + (f", test {test * 100:.0f}%" if test is not None else "") + f"\n{note}"
        image = draw(axes[i][j], model, theta, problem, title, poisoned_count(record, problem) if show_test else None)
    shading_bar(fig, axes, image)
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
    """Stored slab models sorted into the rule they follow (Figure 3): one column per rule, probes drawn."""
    records = [r for r in records if r["task"] == "slab"]
    panels = {key: value for key, value in _panels(store, records).items() if value[1]}
    if not panels:
        return []
    plt = pyplot()
    layout, margin = slab_rules.layout_of(records[0])
    rules = slab_rules.RULES[layout]
    fig, axes = panel_grid(plt, len(panels), len(rules))
    image = None
    for i, ((label, (axes_key, n, loss_bin)), (record, (problem, model, theta), note)) in enumerate(panels.items()):
        found = slab_rules.classify(model, theta, layout, margin, slab_rules.AGREEMENT)
        for j, rule in enumerate(rules):
            chosen = theta[torch.tensor([r == rule for r in found], dtype=torch.bool)]
            title = f"{label}, n={n}{', ' + panel_title(loss_bin, axes_key) if loss_bin or axes_key else ''}\n" \
                    f"{rule}: {len(chosen)} of {len(theta)}\n{note}"
            if len(chosen):
                image = draw(axes[i][j], model, chosen, problem, title)
            else:
                frame(axes[i][j], title)
            if rule in ("linear", "non-linear", "slab"):  # the probe this column is judged on
                x, y = slab_rules.probes(layout, margin)[rule]
                shown = x[:: max(1, len(x) // 120)], y[:: max(1, len(x) // 120)]
                axes[i][j].scatter(shown[0][:, 0], shown[0][:, 1], marker="x", s=8, linewidths=0.6, zorder=4,
                                   c=[COLORS[int(c)] for c in shown[1]])
    shading_bar(fig, axes, image)
    first = records[0]
    fig.suptitle(f"{first['bench']}: rules followed at {slab_rules.AGREEMENT:.0%} probe agreement "
                 f"(× probe points; dots training points)", fontsize=10)
    return save(fig, out_dir, f"{first['bench']}-slab")
