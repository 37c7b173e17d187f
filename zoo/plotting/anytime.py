"""Anytime curves: test accuracy (where recorded), train accuracy and train loss against forward evaluations.

One row of panels per training-set size, loss bin and extra axis; one color
per optimizer, one thin line per cell (data seed), so the spread between
seeds stays visible. Cost is in forward evaluations (models evaluated on the
whole training set), on a log scale, so optimizers with different units of
work (guesses, steps, epochs) share one axis. An optimizer without a path
(Guess & Check) is one marker per cell at the cost of its accepted models.
"""

from __future__ import annotations

from pathlib import Path

from zoo.plotting import panel_grid, panel_title, pyplot, save
from zoo.reports.bins import group

METRICS = (("test_acc", "test accuracy %", 100.0), ("train_acc", "train accuracy %", 100.0),
           ("train_loss", "normalized train loss", 1.0))


def anytime(store, records: list[dict], out_dir: Path, x: str = "evals") -> list[Path]:
    """The anytime-curve figure of one bench; nothing when no cell traced its models."""
    records = [r for r in records if r["metrics"].get("trajectory", {}).get("evals")]
    if not records:
        return []
    # Test accuracy only where the bench asked for it (anytime_test_accuracy); the train panels always.
    metrics = [m for m in METRICS if any(m[0] in r["metrics"]["trajectory"] for r in records)]
    plt = pyplot()
    rows = group(records, lambda r: (r["n"], tuple(r["bin"]) if r["bin"] else None, tuple(sorted(r["axes"].items()))))
    fig, axes = panel_grid(plt, len(rows), len(metrics), size=3.2)
    labels = list(dict.fromkeys(r["label"] for r in records))
    handles = {}
    for row, ((n, loss_bin, axes_key), rs) in zip(axes, rows.items()):
        for ax, (key, title, scale) in zip(row, metrics):
            for record in rs:
                curve = record["metrics"]["trajectory"]
                if key not in curve:
                    continue
                color = f"C{labels.index(record['label']) % 10}"
                xs, ys = curve[x], [v * scale for v in curve[key]]
                style = {"marker": "o", "linestyle": "none"} if len(xs) == 1 else {"linewidth": 1, "alpha": 0.8}
                handles[record["label"]] = ax.plot(xs, ys, color=color, label=record["label"], **style)[0]
            ax.set_xscale("log")
            ax.set_xlabel("forward evaluations" if x == "evals" else "seconds")
            ax.set_ylabel(title)
            ax.set_title(", ".join(p for p in (f"n = {n}", panel_title(loss_bin, axes_key)) if p), fontsize=9)
            ax.grid(alpha=0.3)
    fig.legend(list(handles.values()), list(handles), fontsize=7, loc="outside lower center", ncol=min(5, len(handles)))
    first = records[0]
    fig.suptitle(f"{first['bench']}: {first['task']}, {first['model']} (one line per cell)", fontsize=10)
    return save(fig, out_dir, f"{first['bench']}-anytime")
