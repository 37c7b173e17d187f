"""Few-shot layout: mean query accuracy with a 95% confidence interval over episodes.

Every cell of a ``fewshot`` bench is one episode. An episode's accuracy is the
mean query accuracy of the models the optimizer reported for it (one for
pattern search, up to ``target`` for SGD or Guess & Check). Rows are N-way
K-shot settings, columns the optimizers side by side, as few-shot papers
print them: mean ± 1.96·std/sqrt(episodes) in percent, over the episodes in
which the optimizer reported a model (their count in brackets; JSON and CSV
carry the plain std). A second table says how often the runs fitted the
support set and what an episode cost. Difference tables give the first
optimizer minus each other one, paired by episode (its seed), with 95%
intervals and the equivalence verdict.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from zoo.reports import Number, Stat, Table, axes_key
from zoo.reports.bins import axes_text, group
from zoo.reports.differences import difference_tables, episode_mean
from zoo.reports.side_by_side import _reached
from zoo.statistics import DEFAULT_MARGIN


@dataclass(frozen=True)
class EpisodeStat(Stat):
    """Printed as mean ± the 95% confidence half-width of the mean; ``std`` stays the std."""

    digits: int = 2

    def __str__(self) -> str:
        if self.mean is None:
            return f"– ({self.count})"
        half = 1.96 * self.std / math.sqrt(self.count)
        return f"{self.mean * self.scale:.{self.digits}f} ± {half * self.scale:.{self.digits}f} ({self.count})"


def setting(record: dict) -> tuple[int, int]:
    """``(ways, shots)`` of a record; n is the support-set size."""
    ways = record["spec"]["task"]["params"]["ways"]
    return ways, record["n"] // ways


def episode_accuracy(record: dict) -> float | None:
    values = record["metrics"]["test_acc_values"]
    return statistics.fmean(values) if values else None


def tables(records: list[dict], margin: float = DEFAULT_MARGIN) -> list[Table]:
    out = []
    bench, first = records[0]["bench"], records[0]
    dataset = first["spec"]["task"]["params"].get("dataset", first["task"])
    for axes, by_axes in group(records, axes_key).items():
        where = f"{dataset} novel classes, {first['model']} head{axes_text(axes)}"
        cells = group(by_axes, lambda r: (setting(r), r["label"]))
        labels = list(dict.fromkeys(r["label"] for r in by_axes))
        settings = sorted({setting(r) for r in by_axes})
        rows = []
        for ways, shots in settings:
            row = [f"{ways}-way {shots}-shot"]
            for label in labels:
                accs = [a for a in map(episode_accuracy, cells.get(((ways, shots), label), [])) if a is not None]
                row.append(EpisodeStat.of(accs))
            rows.append(row)
        out.append(Table(f"{bench}: query accuracy % ({where})", ["setting"] + labels, rows,
                         "mean ± 95% confidence interval over episodes (episodes with a model)"))
        out += difference_tables(bench, "query accuracy", where, ["setting"], settings,
                                 lambda s: [f"{s[0]}-way {s[1]}-shot"], cells, labels, episode_mean, margin)
        cost = []
        for ways, shots in settings:
            for label in labels:
                rs = cells.get(((ways, shots), label), [])
                if rs:
                    with_model = sum(episode_accuracy(r) is not None for r in rs)
                    wall = statistics.fmean(r["metrics"]["wall_time"] for r in rs)
                    cost.append([f"{ways}-way {shots}-shot", label, len(rs), with_model, _reached(rs), Number(wall, ",.2f")])
        out.append(Table(f"{bench}: episodes and cost ({where})",
                         ["setting", "optimizer", "episodes", "with a model", "accepted / tested", "wall s / episode"], cost,
                         "accepted: runs that fit the support set; tested as each optimizer counts it "
                         "(guesses for Guess & Check, trained models for SGD, searches for pattern search), all episodes", keys=2))
    return out
