"""The Table 4 layout on records of a real run: accuracy side by side, then runs and cost."""

from zoo import manifest, reports, runner
from zoo.registry import default_registry
from zoo.store import Store

MANIFEST = """
[suite]
store = "s.sqlite"
device = "cpu"
[[bench]]
name = "k"
report = "side_by_side"
task = { name = "kink" }
model = { name = "mlp", hidden = 2 }
optimizers = [
  { name = "sgd", label = "SGD", lr = 0.1, epochs = 50, init = "default", population = 1, target = 1, max_models = 1 },
  { name = "pattern_search", label = "PS", population = 8, max_steps = 50 },
  { name = "random_greedy", label = "RGS", population = 8, max_steps = 50, target = 2, max_runs = 3 },
]
matrix = { n = [8, 16], seeds = [0, 1] }
"""


def test_accuracy_side_by_side_and_cost_per_optimizer(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(MANIFEST)
    loaded = manifest.load(path, default_registry())
    store = Store(loaded.store)
    assert runner.run(loaded, default_registry(), store)["failed"] == 0
    records = store.records()
    accuracy, *differences, cost = reports.tables_for(records)
    assert [t.title.split(",")[0] for t in differences] == ["k: SGD − PS", "k: SGD − RGS"]
    for table in differences:
        assert [row[0] for row in table.rows] == [8, 16]
        assert all(row[2] == row[1].comparison.seeds <= 2 for row in table.rows)  # seeds where both fitted a model

    assert accuracy.columns == ["n", "SGD", "PS", "RGS"] and [row[0] for row in accuracy.rows] == [8, 16]
    def values(n, label):
        return [v for r in records if r["n"] == n and r["label"] == label for v in r["metrics"]["test_acc_values"]]

    for n, sgd, ps, rgs in accuracy.rows:
        for stat, label in ((sgd, "SGD"), (ps, "PS"), (rgs, "RGS")):
            fitted = [r for r in records if r["n"] == n and r["label"] == label]
            assert stat.count == len(values(n, label)) == sum(int(r["metrics"]["counters"]["accepted"]) for r in fitted)
            assert all(r["metrics"]["train_acc"]["mean"] in (None, 1.0) for r in fitted)  # never an unfitted point

    assert [row[:3] for row in cost.rows] == [[n, label, 2] for n in (8, 16) for label in ("SGD", "PS", "RGS")]
    for n, label, _, reached, restarts, unfitted, steps, evals, _ in cost.rows:
        cells = [r["metrics"]["counters"] for r in records if r["n"] == n and r["label"] == label]
        fitted = sum(c["fit"] if "fit" in c else c["accepted"] for c in cells)  # SGD: every model that fit
        assert fitted >= sum(c["accepted"] for c in cells)
        assert reached.plain() == {"accepted": fitted, "tested": sum(c["tested"] for c in cells)}
        assert str(reached) == f"{int(fitted)} / {sum(int(c['tested']) for c in cells)}"
        assert restarts.plain() == sum(c["restarts"] for c in cells)
        best = [c["unfitted_best_train_acc"] for c in cells if "unfitted_best_train_acc" in c]
        assert unfitted.plain() == (max(best) * 100 if best else None)
        assert steps.plain() == sum(c["steps"] for c in cells) / 2
        assert evals.plain() == sum(c["forward_evals"] for c in cells) / 2  # SGD: forward passes in model-epochs
    store.close()
