"""The volume report: log10 acceptance rates, their intervals and the good/poisoned ratio."""

import json
import math

import pytest
from conftest import run_zoo

from zoo.reports.volume import ratio, volume
from zoo.statistics import log10_ratio, pooled_rate
from zoo.store import Store

MANIFEST = """
[suite]
name = "volume"
store = "volume.sqlite"
device = "cpu"

[[bench]]
name = "toy"
report = "volume"
task = { name = "poison_toy" }
model = { name = "mlp", hidden = 20 }
optimizers = [
  { name = "guess_check", label = "G&C", target = 20, max_guesses = 200000 },
  { name = "poisoned_guess_check", label = "P1", poison = 1, target = 20, max_guesses = 200000 },
  { name = "poisoned_guess_check", label = "P5", poison = 5, target = 20, max_guesses = 20000 },
  { name = "sgd", label = "SGD", lr = 0.3, init = "default", epochs = 500, population = 2, target = 2, max_models = 2 },
]
[bench.matrix]
n = [11]
seeds = [0, 1]
"""


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("volume")
    (folder / "volume.toml").write_text(MANIFEST)
    out = run_zoo("bench", folder / "volume.toml", "--format", "json")
    assert out.returncode == 0, out.stderr
    store = Store(folder / "volume.sqlite", create=False)
    records = store.records()
    store.close()
    return {t["title"].split(": ")[1].split(" (")[0]: t for t in json.loads(out.stdout)}, records


def pooled(records, label):
    counters = [r["metrics"]["counters"] for r in records if r["label"] == label]
    return int(sum(c["accepted"] for c in counters)), int(sum(c["tested"] for c in counters))


def per_seed(records, label):
    counters = {r["seed"]: r["metrics"]["counters"] for r in records if r["label"] == label}
    return [int(counters[s]["accepted"]) for s in sorted(counters)], [int(counters[s]["tested"]) for s in sorted(counters)]


def test_volume_table_pools_seeds_and_compares_each_poisoned_row_with_plain_guess_check(toy_run):
    tables, records = toy_run
    accuracy, volume_table = tables["test accuracy %"], tables["volume and cost"]
    assert accuracy["columns"] == ["n", "G&C", "P1", "P5", "SGD"]
    assert accuracy["rows"][0][1]["count"] == 40 and accuracy["rows"][0][3]["count"] == 0
    assert 0 <= accuracy["rows"][0][1]["mean"] <= 100  # the title says %: percent, not a fraction
    rows = {row[1]: row for row in volume_table["rows"]}
    assert volume_table["columns"][:3] == ["n", "optimizer", "accepted / tested"]

    good, p1, p5 = pooled(records, "G&C"), pooled(records, "P1"), pooled(records, "P5")
    assert good[0] == 40 and p1[0] > 0 and p5 == (0, 40_000)  # five poison points: nothing in 2 x 20,000
    assert rows["G&C"][2] == {"accepted": good[0], "tested": good[1]}
    rate = pooled_rate(*per_seed(records, "G&C"))
    assert rows["G&C"][3] == {"log10": math.log10(good[0] / good[1]), "ci_low": math.log10(rate.low),
                              "ci_high": math.log10(rate.high), "accepted": good[0], "tested": good[1], "seeds": 2}
    assert rows["G&C"][4] is None
    estimate, low, high = log10_ratio(*per_seed(records, "G&C"), *per_seed(records, "P1"))
    assert rows["P1"][4] == {"estimate": estimate, "ci_low": low, "ci_high": high} and low < estimate < high
    assert rows["P5"][3]["log10"] is None and rows["P5"][3]["ci_high"] < -4  # nothing accepted: an upper bound
    assert rows["P5"][4]["estimate"] is None and rows["P5"][4]["ci_high"] is None and rows["P5"][4]["ci_low"] > 0
    assert rows["P1"][3]["log10"] < rows["G&C"][3]["log10"]  # a poison point costs volume
    assert rows["SGD"][3:5] == [None, None]
    assert rows["G&C"][5] == rows["P1"][5] == rows["SGD"][5] == 100.0  # clean train accuracy


def test_volume_values_print_rate_interval_and_bounds(toy_run):
    _, records = toy_run
    by_label = {label: [r for r in records if r["label"] == label] for label in ("G&C", "P1", "P5")}
    assert str(volume(by_label["P5"])).startswith("< ")
    good = volume(by_label["G&C"])
    text = str(good)
    assert text.startswith(f"{math.log10(good.rate.rate):.2f} [") and text.endswith("]")
    assert str(ratio(by_label["G&C"], by_label["P5"])).endswith(", +∞]")
    differences = {title.split(",")[0]: t["rows"][0][1] for title, t in toy_run[0].items() if title.startswith("G&C − ")}
    assert set(differences) == {"G&C − P1", "G&C − P5", "G&C − SGD"}
    assert differences["G&C − P5"]["estimate"] is None and differences["G&C − P5"]["verdict"] == "inconclusive"
    assert differences["G&C − P1"]["seeds"] == 2 and differences["G&C − P1"]["ci_low"] < differences["G&C − P1"]["ci_high"]
