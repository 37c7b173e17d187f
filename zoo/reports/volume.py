"""Good minima against poisoned ones: accuracy and volume side by side.

The first table gives each optimizer's test accuracy per training-set size
(and loss bin), mean ± std over its reported models of all seeds; difference
tables give the first optimizer minus each other one with 95% intervals over
seeds. The volume table gives, for Guess & Check and poisoned Guess & Check,
the share of uniform guesses that were accepted, pooled over seeds, as log10
with its 95% interval (:func:`zoo.statistics.pooled_rate`: the spread between
seeds and the binomial noise; an upper bound when nothing was accepted). A
poisoned row also gives log10(good / poisoned), the factor by which the good
minima outweigh the bad ones, against the plain optimizer of the same name
(``poisoned_guess_check`` against ``guess_check``), paired by seed, with its
interval (+∞ as the high end when the poisoned one accepted nothing). For
trained optimizers the table gives how many runs fit (their accepted /
tested), the clean train accuracy of the reported models (Table 1 requires
100%) and the wall time.
"""

from __future__ import annotations

import math

from zoo.reports import Counts, EstimatedVolume, LogRatio, Number, Stat, Table, Volume, axes_key, numbers, orderable
from zoo.reports.bins import bin_name, group
from zoo.reports.budget import pooled_counts
from zoo.reports.differences import difference_tables, pooled_models
from zoo.statistics import DEFAULT_MARGIN, log10_ratio, log10_volume_ratio, pooled_log10_volume, pooled_rate

ESTIMATORS = ("volume_ss", "poisoned_volume_ss")  # a volume estimate per cell (log10 with an interval), not counts
VOLUME_OPTIMIZERS = ("guess_check", "poisoned_guess_check") + ESTIMATORS
POISONED = "poisoned_"


def seed_counts(records: list[dict]) -> dict[int, tuple[int, int]]:
    """``{seed: (accepted, tested)}`` summed over the cells of each seed."""
    out: dict[int, tuple[int, int]] = {}
    finite = lambda v: int(sum(x for x in numbers([v]) if math.isfinite(x)))  # noqa: E731  a NaN count is no count
    for r in records:
        c = r["metrics"]["counters"]
        old = out.get(r["seed"], (0, 0))
        out[r["seed"]] = (old[0] + finite(c.get("accepted", 0)), old[1] + finite(c.get("tested", 0)))
    return out


def volume(records: list[dict]) -> Volume:
    counts = seed_counts(records)
    return Volume(pooled_rate([a for a, _ in counts.values()], [t for _, t in counts.values()]))


def ratio(good: list[dict], poisoned: list[dict]) -> LogRatio:
    """log10(good rate / poisoned rate) over the seeds both have."""
    g, p = seed_counts(good), seed_counts(poisoned)
    seeds = sorted(set(g) & set(p))
    if not seeds:
        return LogRatio(None, None, None)
    return LogRatio(*log10_ratio([g[s][0] for s in seeds], [g[s][1] for s in seeds],
                                 [p[s][0] for s in seeds], [p[s][1] for s in seeds]))


def _finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def seed_estimates(records: list[dict]) -> dict[int, tuple]:
    """``{seed: (log10, low, high)}`` of volume-estimator cells (None where the estimator stalled)."""
    out = {}
    for r in records:
        c = r["metrics"]["counters"]
        out[r["seed"]] = (_finite(c.get("log10_volume")), _finite(c.get("log10_low")), _finite(c.get("log10_high")))
    return out


def _columns(estimates: dict, seeds) -> tuple[list, list, list]:
    return tuple(list(column) for column in zip(*(estimates[s] for s in seeds)))


def estimated_volume(records: list[dict]) -> EstimatedVolume:
    """The volume estimators' log10 volume pooled over seeds (:func:`zoo.statistics.pooled_log10_volume`)."""
    estimates = seed_estimates(records)
    usable = [s for s, e in estimates.items() if e[2] is not None]
    if not usable:
        return EstimatedVolume(None, None, None, len(estimates))
    return EstimatedVolume(*pooled_log10_volume(*_columns(estimates, usable)), len(usable))


def estimated_ratio(good: list[dict], poisoned: list[dict]) -> LogRatio:
    """log10(good / poisoned) of volume estimates paired by seed."""
    g, p = seed_estimates(good), seed_estimates(poisoned)
    seeds = sorted(s for s in set(g) & set(p) if g[s][2] is not None and p[s][2] is not None)
    if not seeds:
        return LogRatio(None, None, None)
    return LogRatio(*log10_volume_ratio(_columns(g, seeds), _columns(p, seeds)))


def volume_of(records: list[dict]):
    """A cell group's volume: counted (Guess & Check) or estimated (``volume_ss``); None for other optimizers."""
    optimizer = records[0]["optimizer"]
    if optimizer in ESTIMATORS:
        return estimated_volume(records)
    if optimizer in VOLUME_OPTIMIZERS and pooled_counts(records)[1]:
        return volume(records)
    return None


def _cost(records: list[dict]) -> Number:
    """Forward evaluations summed over cells: guesses for Guess & Check, particle evaluations for ``volume_ss``."""
    counters = [r["metrics"]["counters"] for r in records]
    values = [c.get("forward_evals", c.get("tested")) for c in counters]
    values = [v for v in numbers(values) if math.isfinite(v)]
    return Number(sum(values) if values else None, ",.0f")


def _inverse_volume(shown) -> Number:
    """Guesses Guess & Check needs per accepted model, about 1 / volume."""
    log10 = shown.plain().get("log10") if shown is not None else None
    return Number(10 ** -log10 if log10 is not None else None, ".2e")


def _train_accuracy(records: list[dict]) -> Number:
    """Mean train accuracy over the reported models of all cells, in percent."""
    pairs = [(r["metrics"]["train_acc"]["mean"], r["metrics"]["models"]) for r in records if r["metrics"]["models"]]
    total = sum(count for _, count in pairs)
    return Number(100 * sum(acc * count for acc, count in pairs) / total if total else None)


def _wall(records: list[dict]) -> Number:
    return Number(sum(numbers(r["metrics"]["wall_time"] for r in records)))


def _good_label(records: list[dict], optimizer: str) -> str | None:
    """The label of the first plain optimizer that a poisoned one is measured against."""
    if not optimizer.startswith(POISONED):
        return None
    plain = optimizer[len(POISONED):]
    return next((r["label"] for r in records if r["optimizer"] == plain), None)


def _row_key(record: dict) -> tuple:
    """Extra axis values, n and loss bin: what a row of both tables stands for."""
    return tuple(v for _, v in axes_key(record)), record["n"], tuple(record["bin"]) if record["bin"] else None


def tables(records: list[dict], margin: float = DEFAULT_MARGIN) -> list[Table]:
    bench, first = records[0]["bench"], records[0]
    axis_names = sorted({a for r in records for a in r["axes"]})
    cells = group(records, lambda r: (_row_key(r), r["label"]))
    labels = list(dict.fromkeys(r["label"] for r in records))
    optimizer_of = {r["label"]: r["optimizer"] for r in records}
    keys = sorted({key for key, _ in cells}, key=lambda k: (orderable(k[0]), orderable(k[1]), k[2] is not None, orderable(k[2])))
    binned = any(b is not None for _, _, b in keys)
    lead = axis_names + ["n"] + (["bin"] if binned else [])
    head = lambda key: list(key[0]) + [key[1]] + ([bin_name(key[2])] if binned else [])  # noqa: E731
    where = f"{first['task']}, {first['model']}"

    accuracy = [head(key) + [Stat.of(v for r in cells.get((key, label), []) for v in r["metrics"]["test_acc_values"])
                             for label in labels] for key in keys]
    rows = []
    for key in keys:
        for label in labels:
            rs = cells.get((key, label))
            if not rs:
                continue
            counts = pooled_counts(rs)
            shown, against = volume_of(rs), Number(None)
            if shown is not None:
                good = _good_label(records, optimizer_of[label])
                if good and cells.get((key, good)):
                    compare = estimated_ratio if optimizer_of[label] in ESTIMATORS else ratio
                    against = compare(cells[(key, good)], rs)
            rows.append(head(key) + [label, Counts(*counts), shown if shown is not None else Number(None), against,
                                     _train_accuracy(rs), _wall(rs), _cost(rs), _inverse_volume(shown)])
    return [
        Table(f"{bench}: test accuracy % ({where})", lead + labels, accuracy,
              "mean ± std over reported models (count), all seeds pooled", keys=len(lead)),
        *difference_tables(bench, "test accuracy", where, lead, keys, head, cells, labels, pooled_models, margin),
        Table(f"{bench}: volume and cost ({where})",
              lead + ["optimizer", "accepted / tested", "log10 volume [95% CI]", "log10 good/poisoned [95% CI]",
                      "train acc %", "wall s", "forward evals", "1 / volume"],
              rows,
              "volume: accepted share of uniform guesses (Guess & Check rows) or the subset-simulation estimate "
              "(volume_ss rows; per-seed intervals over repeats), seeds pooled, its interval with the spread between "
              "seeds; train acc: clean training set, mean over reported models; wall s and forward evals (guesses, "
              "particle evaluations, trained models' passes): summed over seeds; 1 / volume: the guesses Guess & Check "
              "needs per accepted model",
              keys=len(lead) + 1),
        *diagnostics_tables(bench, where, lead, keys, head, cells, labels, optimizer_of),
    ]


def _levels(record: dict) -> list[list[dict]]:
    repeats = (record["metrics"].get("diagnostics") or {}).get("repeats") or []
    return [rep.get("levels") or [] for rep in repeats if isinstance(rep, dict)]


def _span(values, fmt: str) -> str:
    values = [v for v in numbers(values) if math.isfinite(v)]
    return "–" if not values else f"{format(min(values), fmt)}–{format(max(values), fmt)}"


def diagnostics_tables(bench, where, lead, keys, head, cells, labels, optimizer_of) -> list[Table]:
    """Per volume-estimator cell: its repeats, levels, conditional probabilities, pCN acceptance and ESS."""
    rows = []
    for key in keys:
        for label in labels:
            if optimizer_of[label] not in ESTIMATORS:
                continue
            for r in sorted(cells.get((key, label), []), key=lambda r: orderable(r["seed"])):
                c, levels = r["metrics"]["counters"], _levels(r)
                diag = r["metrics"].get("diagnostics") or {}
                repeats = [rep for rep in diag.get("repeats") or [] if isinstance(rep, dict)]
                inner = [lv for rep in levels for lv in rep[:-1]]  # the last level of a repeat has no moves
                particles = r["spec"].get("optimizer", {}).get("params", {}).get("particles")
                ess = [lv.get("ess") for lv in inner]
                ess_share = [e / particles for e in numbers(ess)] if isinstance(particles, int) and particles else []
                stalled = "; ".join(str(rep.get("stalled")) for rep in repeats if rep.get("stalled"))
                rows.append(head(key) + [
                    label, r["seed"],
                    EstimatedVolume(_finite(c.get("log10_volume")), _finite(c.get("log10_low")),
                                    _finite(c.get("log10_high")), 1),
                    ", ".join(f"{v:.2f}" for v in numbers(rep.get("log10") for rep in repeats)),
                    Number(_finite(c.get("spread")), ".2f"),
                    _span([len(lv) for lv in levels], ".0f"),
                    _span([lv.get("probability") for lv in inner], ".3f"),
                    _span([rep[-1].get("probability") for rep in levels if rep], ".3f"),
                    _span([lv.get("acceptance") for lv in inner], ".2f"),
                    _span(ess_share, ".2f"),
                    Number(_finite(c.get("sample_acceptance")), ".2f"),
                    stalled or "no",
                ])
    if not rows:
        return []
    return [Table(f"{bench}: volume estimator diagnostics ({where})",
                  lead + ["optimizer", "seed", "log10 volume [95% CI]", "repeats' log10", "spread", "levels",
                          "p per level", "last p", "pCN acceptance", "ESS / particles", "sample acceptance", "stalled"],
                  rows,
                  "per cell: the repeats' log10 estimates and their standard deviation (the interval is a t "
                  "interval over them); levels, conditional probability per level (about p0; more when particles "
                  "tie), the last level's share inside the region, pCN acceptance and effective sample size per "
                  "level over all repeats (min–max; low values: too few moves, the estimate may be biased low), "
                  "and the acceptance of the moves that part the reported models",
                  keys=len(lead) + 2)]
