"""The volume report: log10 acceptance rates, their intervals and the good/poisoned ratio."""

import json
import math

import pytest
from conftest import run_zoo

from zoo.metrics import clopper_pearson
from zoo.reports.volume import log10_volume, ratio_text, volume_text
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


def test_volume_text_gives_log10_rate_and_interval_or_the_upper_bound():
    low, high = clopper_pearson(7, 1000)
    assert volume_text(7, 1000) == (f"{math.log10(0.007):.2f}", f"[{math.log10(low):.2f}, {math.log10(high):.2f}]")
    assert volume_text(0, 1000) == (f"< {math.log10(1 - 0.025 ** (1 / 1000)):.2f}", "nothing accepted")
    assert log10_volume(0, 1000)[:2] == (None, None)


def test_ratio_is_good_over_poisoned_with_its_conservative_end():
    g_low = clopper_pearson(50, 100)[0]
    p_low, p_high = clopper_pearson(3, 100_000)
    assert ratio_text((50, 100), (3, 100_000)) == (
        f"{math.log10(0.5 / 3e-5):+.2f} (≥ {math.log10(g_low) - math.log10(p_high):+.2f})")
    assert ratio_text((50, 100), (0, 1000)) == f"≥ {math.log10(g_low) - math.log10(clopper_pearson(0, 1000)[1]):+.2f}"
    assert ratio_text((0, 100), (0, 1000)) == "–"


def test_volume_table_pools_seeds_and_compares_each_poisoned_row_with_plain_guess_check(toy_run):
    tables, records = toy_run
    accuracy, volume = tables["test accuracy %"], tables["volume and cost"]
    assert accuracy["columns"] == ["n", "G&C", "P1", "P5", "SGD"]
    assert accuracy["rows"][0][1]["count"] == 40 and accuracy["rows"][0][3]["count"] == 0
    rows = {row[1]: row for row in volume["rows"]}
    assert volume["columns"][:3] == ["n", "optimizer", "accepted / tested"]

    good, p1, p5 = pooled(records, "G&C"), pooled(records, "P1"), pooled(records, "P5")
    assert good[0] == 40 and p1[0] > 0 and p5 == (0, 40_000)  # five poison points: nothing in 2 x 20,000
    assert rows["G&C"][2] == f"{good[0]:,} / {good[1]:,}"
    assert rows["G&C"][3:5] == list(volume_text(*good)) and rows["G&C"][5] == "–"
    assert rows["P1"][3:6] == [*volume_text(*p1), ratio_text(good, p1)]
    assert rows["P5"][3:6] == [*volume_text(*p5), ratio_text(good, p5)]
    assert rows["P5"][3].startswith("< ") and rows["P5"][5].startswith("≥ ")
    assert float(rows["P1"][3]) < float(rows["G&C"][3])  # a poison point costs volume
    assert rows["SGD"][3:6] == ["–", "–", "–"]
    assert rows["G&C"][6] == rows["P1"][6] == rows["SGD"][6] == "100.0"  # clean train accuracy
