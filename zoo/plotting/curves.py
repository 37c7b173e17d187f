"""Test accuracy and volume against training-set size, one line per optimizer.

One panel per loss bin and extra matrix axis. When a bench has a single
training-set size, the x axis shows its one varying numeric axis instead
(say, the hidden width) or, failing that, lists its optimizers, so a bench
that varies the optimizer (say, the number of poison points) still gets a
figure.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from zoo.plotting import panel_grid, panel_title, pyplot, save
from zoo.reports.bins import group
from zoo.reports.volume import VOLUME_OPTIMIZERS, volume_of


def _accuracy_point(records):
    """Mean ± std in percent, the bar cut at 0 and 100 (an accuracy cannot leave them)."""
    values = [v * 100 for r in records for v in r["metrics"]["test_acc_values"]]
    if not values:
        return None
    mean = statistics.fmean(values)
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return mean, min(std, mean), min(std, 100 - mean), False


def _volume_point(records):
    shown = volume_of(records)
    values = shown.plain() if shown is not None else {}
    estimate, low, high = values.get("log10"), values.get("ci_low"), values.get("ci_high")
    if high is None:
        return None
    if estimate is None:  # nothing accepted, or the estimator stalled: draw the upper bound
        return high, 0.0, 0.0, True
    low = estimate if low is None else low
    return estimate, estimate - low, high - estimate, False


def x_axis(records) -> tuple[str, callable]:
    """What the x axis shows: n when it varies, else the one numeric axis that varies, else the optimizers."""
    if len({r["n"] for r in records}) > 1:
        return "training samples n", lambda r: r["n"]
    varying = [a for a in sorted({a for r in records for a in r["axes"]})
               if len({repr(r["axes"].get(a)) for r in records}) > 1
               and all(isinstance(r["axes"].get(a), (int, float)) for r in records)]
    if len(varying) == 1:
        return varying[0], lambda r: r["axes"][varying[0]]
    return f"optimizer (n = {records[0]['n']})", None


def _figure(records, out_dir: Path, stem: str, ylabel: str, point) -> list[Path]:
    if not records:
        return []
    plt = pyplot()
    xlabel, x_of = x_axis(records)
    on_x = xlabel if x_of and xlabel != "training samples n" else None
    panel_key = lambda r: (tuple((a, v) for a, v in sorted(r["axes"].items()) if a != on_x),  # noqa: E731
                           tuple(r["bin"]) if r["bin"] else None)
    panels = group(records, panel_key)
    fig, axes = panel_grid(plt, 1, len(panels), size=3.6, sharey=True)
    handles = {}
    for ax, ((axes_key, loss_bin), rs) in zip(axes[0], panels.items()):
        by_label = group(rs, lambda r: r["label"])
        for i, (label, lrs) in enumerate(by_label.items()):
            color = f"C{list(dict.fromkeys(r['label'] for r in records)).index(label) % 10}"
            by_x = group(lrs, x_of or (lambda r: i))
            xs = sorted(by_x)
            pts = [(x, point(by_x[x])) for x in xs]
            measured = [(x, p) for x, p in pts if p and not p[3]]
            bounds = [(x, p) for x, p in pts if p and p[3]]
            if measured:  # measured points joined by a line; upper bounds stand apart, never on that line
                handles[label] = ax.errorbar([x for x, _ in measured], [p[0] for _, p in measured],
                                             yerr=[[p[1] for _, p in measured], [p[2] for _, p in measured]],
                                             marker="o", capsize=3, color=color, label=label)
            if bounds:
                handle = ax.plot([x for x, _ in bounds], [p[0] for _, p in bounds], linestyle="none", marker="v",
                                 markersize=9, markerfacecolor="none", color=color, label=f"{label}: upper bound (none accepted)")[0]
                handles[f"{label}: upper bound (none accepted)"] = handle
        if x_of is None:
            ax.set_xticks(range(len(by_label)), list(by_label), rotation=30, ha="right", fontsize=7)
        elif on_x is None:
            sizes = sorted({r["n"] for r in rs})
            ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.set_xlabel(xlabel)
        ax.set_title(panel_title(loss_bin, axes_key), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    fig.legend(list(handles.values()), list(handles), fontsize=7, loc="outside lower center",
               ncol=min(4, len(handles)))
    first = records[0]
    fig.suptitle(f"{first['bench']}: {first['task']}, {first['model']}", fontsize=10)
    return save(fig, out_dir, f"{first['bench']}-{stem}")


def accuracy(store, records: list[dict], out_dir: Path) -> list[Path]:
    """Test accuracy (mean ± std over reported models, seeds pooled) against n."""
    return _figure([r for r in records if r["metrics"]["test_acc_values"]], out_dir, "accuracy",
                   "test accuracy % (mean ± std)", _accuracy_point)


def volume(store, records: list[dict], out_dir: Path) -> list[Path]:
    """log10 volume of Guess & Check and volume-estimator cells with its 95% interval; ▽ marks an upper bound."""
    return _figure([r for r in records if r["optimizer"] in VOLUME_OPTIMIZERS], out_dir, "volume",
                   "log10 volume (95% CI)", _volume_point)
