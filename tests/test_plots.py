"""``zoo plot`` on real stores, and the slab rule probes."""

import json

import pytest
import torch
from conftest import run_zoo

from zoo.registry import default_registry
from zoo.tasks.slab_rules import classify, reference_probes, shuffled_probes, zigzag
from zoo.tasks.toys import slab

SUITE = """
[suite]
name = "plots"
store = "plots.sqlite"
device = "cpu"
keep_params = {keep}
"""
BENCHES = """
[[bench]]
name = "toy"
report = "volume"
task = { name = "poison_toy" }
model = { name = "mlp", hidden = 20 }
optimizers = [
  { name = "guess_check", label = "G&C", target = 10, max_guesses = 100000 },
  { name = "poisoned_guess_check", label = "poisoned G&C", poison = 2, target = 10, max_guesses = 1000000 },
  { name = "poisoned_sgd", label = "poisoned SGD", lr = 0.3, init = "default", epochs = 3000, repeat = 1, population = 2, target = 2, max_models = 2 },
]
[bench.matrix]
n = [11]
seeds = [0]

[[bench]]
name = "widths"
report = "volume"
task = { name = "kink" }
model = { name = "mlp" }
optimizers = [
  { name = "guess_check", label = "G&C", target = 10, max_guesses = 1000000 },
  { name = "sgd", label = "SGD", lr = 0.1, epochs = 50, batch = 4, init = "default", target = 4, population = 4, max_models = 8 },
]
[bench.matrix]
n = [8, 16]
seeds = [0]
"model.hidden" = [2, 8]

[[bench]]
name = "slab"
report = "volume"
task = { name = "slab" }
model = { name = "mlp", hidden = 40 }
optimizers = [{ name = "guess_check", label = "G&C", target = 30, max_guesses = 1000000 }]
[bench.matrix]
n = [50]
seeds = [0]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    (folder / "plots.toml").write_text(SUITE.format(keep="true") + BENCHES)
    out = run_zoo("bench", folder / "plots.toml", "--format", "json")
    assert out.returncode == 0, out.stderr
    return folder / "plots.sqlite"


def written(out):
    return sorted(line.split("wrote ", 1)[1] for line in out.stderr.splitlines() if line.startswith("wrote "))


def test_default_kinds_write_png_and_svg_for_every_bench(store, tmp_path):
    out = run_zoo("plot", store, "--out", tmp_path / "figs", "--format", "json")
    assert out.returncode == 0, out.stderr
    names = {path.rsplit("/", 1)[1] for path in written(out)}
    stems = {"toy-accuracy", "toy-volume", "toy-poison-toy", "widths-accuracy", "widths-volume", "widths-boundaries",
             "slab-accuracy", "slab-volume", "slab-slab", "toy-anytime", "widths-anytime", "slab-anytime"}
    assert names == {f"{stem}.{ext}" for stem in stems for ext in ("png", "svg")}
    for name in names:
        data = (tmp_path / "figs" / name).read_bytes()
        assert data.startswith(b"\x89PNG") if name.endswith(".png") else b"<svg" in data[:2000]
    [counts] = json.loads(out.stdout)
    assert counts["columns"] == ["optimizer", "n", "seeds", "models", "agreement 100%", "agreement 99%", "agreement 95%"]
    label, n, seeds, models, *levels = counts["rows"][0]
    assert (label, n, seeds, models) == ("G&C", 50, 1, 30)
    for level in levels:  # linear / slab / mixed, every model in one of them
        assert sum(int(c) for c in level.split(" / ")) == 30


def test_kind_and_bench_select_figures(store, tmp_path):
    out = run_zoo("plot", store, "--bench", "widths", "--kind", "boundaries", "--out", tmp_path)
    assert out.returncode == 0, out.stderr
    assert [p.rsplit("/", 1)[1] for p in written(out)] == ["widths-boundaries.png", "widths-boundaries.svg"]


def test_boundaries_without_stored_models_is_a_clear_error(tmp_path):
    bench = '[[bench]]\nname = "kink"\ntask = { name = "kink" }\nmodel = { name = "mlp", hidden = 4 }\n' \
            'optimizers = [{ name = "guess_check", target = 5 }]\nmatrix = { n = [4] }\n'
    (tmp_path / "plots.toml").write_text(SUITE.format(keep="false") + bench)
    assert run_zoo("bench", tmp_path / "plots.toml", "--format", "json").returncode == 0
    out = run_zoo("plot", tmp_path / "plots.sqlite", "--kind", "boundaries", "--out", tmp_path)
    assert out.returncode == 2 and "keep_params = true" in out.stderr and "Traceback" not in out.stderr


def test_default_kinds_on_an_image_task_skip_the_boundaries(tmp_path):
    """MNIST cells have no plane to draw: the default figures are the curves, and nothing crashes."""
    bench = '[[bench]]\nname = "digits"\ntask = { name = "mnist", classes = "pair" }\nmodel = { name = "lenet", width = 0.5 }\n' \
            'optimizers = [{ name = "guess_check", target = 2 }]\nmatrix = { n = [2] }\n'
    (tmp_path / "plots.toml").write_text(SUITE.format(keep="true") + bench)
    assert run_zoo("bench", tmp_path / "plots.toml", "--format", "json").returncode == 0
    out = run_zoo("plot", tmp_path / "plots.sqlite", "--out", tmp_path / "figs")
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    names = {path.rsplit("/", 1)[1] for path in written(out)}
    assert {"digits-accuracy.png", "digits-volume.png"} <= names
    assert not any("boundaries" in name for name in names)


def test_missing_matplotlib_asks_for_the_plots_extra(store, tmp_path):
    blocker = tmp_path / "matplotlib"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    out = run_zoo("plot", store, "--out", tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert out.returncode == 2
    assert "pip install 'zoo[plots]'" in out.stderr and "Traceback" not in out.stderr


def slab_models():
    """Three hand-set 2-unit MLPs: the sign of x1, the middle slab of x2, and always class 0."""
    model = default_registry().get("model", "mlp").build(input_shape=(2,), num_classes=2, hidden=2)
    theta = torch.zeros(3, model.num_params)
    p = model.unflatten(theta)
    p["w1"][0, 1] = torch.tensor([1.0, -1.0])  # linear: logit1 - logit0 = relu(x1) - relu(-x1)
    p["w0"][0] = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    p["w0"][1] = torch.tensor([[0.0, 1.0], [0.0, -1.0]])  # slab: relu(x2 - 1/3) + relu(-x2 - 1/3)
    p["b0"][1] = torch.tensor([-1 / 3, -1 / 3])
    p["w1"][1, 1] = torch.tensor([-10.0, -10.0])
    p["b1"][1, 1] = 0.01
    p["b1"][2, 0] = 1.0  # always class 0
    return model, theta


def test_probes_keep_one_feature_informative():
    for rule, (x, y) in shuffled_probes(margin=0.1, count=500).items():
        by_x1 = (x[:, 0] > 0).long()
        assert torch.equal(by_x1, y) == (rule == "linear")


def test_classify_tells_linear_slab_and_mixed_rules_apart():
    model, theta = slab_models()
    found = classify(model, theta, "uniform", margin=0.1)
    assert found == ["linear", "slab", "mixed"]


class RuleModel:
    """A population of fixed decision rules on 2-D points: class 1 where ``rule(x) > 0``."""

    def __init__(self, *rules):
        self.rules = rules

    def forward(self, theta, x):
        score = torch.stack([rule(x) for rule in self.rules])
        return torch.stack([-score, score], -1)


def zigzag_x1(x2):
    """The zigzag through the reference slab gaps, as a function of height (interpolated from its points)."""
    path = torch.from_numpy(zigzag()).float()
    order = path[:, 1].argsort()
    heights, xs = path[order, 1], path[order, 0]
    i = torch.searchsorted(heights, x2.clamp(heights[0], heights[-1])).clamp(1, len(heights) - 1)
    t = (x2 - heights[i - 1]) / (heights[i] - heights[i - 1]).clamp_min(1e-9)
    return xs[i - 1] + t.clamp(0, 1) * (xs[i] - xs[i - 1])


def test_reference_probes_tell_the_vertical_rule_from_the_zigzag():
    vertical = lambda x: -x[:, 0]  # noqa: E731  class 1 left of x1 = 0
    follows_zigzag = lambda x: zigzag_x1(x[:, 1]) - x[:, 0]  # noqa: E731  class 1 left of the zigzag
    always_0 = lambda x: -torch.ones(len(x))  # noqa: E731
    model = RuleModel(vertical, follows_zigzag, always_0)
    assert classify(model, torch.zeros(3, 1), "reference", margin=0.1) == ["linear", "non-linear", "neither"]
    # both rules separate the reference slab data itself
    problem = slab(layout="reference").sample(200, 0)
    for rule in (vertical, follows_zigzag):
        assert torch.equal((rule(problem.x_train) > 0).long(), problem.y_train)
    sizes = {rule: len(y) for rule, (x, y) in reference_probes().items()}
    assert sizes == {"linear": 60, "non-linear": 60}  # the reference's 2 x 30 and 2 x 3 x 10 points
