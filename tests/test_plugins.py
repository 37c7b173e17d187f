"""Plugins as users install them: a real pip install, the real command line.

The guide's example distribution (plugins/zoo-example) and a deliberately
broken one are installed with pip into a temporary folder; fresh ``zoo``
processes with that folder on their path find them through their entry
points, exactly as after ``pip install``. Nothing is registered by hand.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from conftest import REPO, run_zoo
from zoo.store import Store

EXAMPLE = REPO / "plugins" / "zoo-example"
GUIDE = REPO / "docs" / "plugins.md"

BROKEN = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "zoo-broken"
        version = "0.3.0"
        [project.entry-points.zoo]
        broken_import = "zoo_broken.needs_missing"
        explodes = "zoo_broken.explodes"
        misspelt = "zoo_broken.misspelt"
        wrong_arguments = "zoo_broken.wrong_arguments"
        [tool.setuptools]
        packages = ["zoo_broken"]
    """,
    "zoo_broken/__init__.py": "",
    "zoo_broken/needs_missing.py": "import a_dependency_nobody_installed  # noqa: F401\n",
    "zoo_broken/explodes.py": """
        from zoo.hookspecs import hookimpl
        from zoo.registry import PluginSpec

        class Explodes:
            def run(self, problem, model, ctx):
                raise RuntimeError("lost the plot")

        @hookimpl
        def zoo_optimizers():
            return [PluginSpec("explodes", Explodes, {}, "raises in every cell")]
    """,
    "zoo_broken/misspelt.py": """
        from zoo.api import hookimpl

        @hookimpl
        def zoo_optimisers():
            return []

        def zoo_cell_finish(cell, record):  # not marked
            pass
    """,
    "zoo_broken/wrong_arguments.py": """
        from zoo.api import hookimpl

        @hookimpl
        def zoo_cell_finish(cell, result):
            pass
    """,
}

KINK = """
[suite]
store = "s.sqlite"
device = "cpu"
[[bench]]
name = "kink"
task = { name = "kink" }
model = { name = "mlp", hidden = 6 }
optimizers = [ { name = "guess_check", label = "G&C", target = 3, max_guesses = 100000 }, OTHER ]
matrix = { n = [4], bins = [0.5, 0.6], seeds = [0, 1] }
"""


def pip_install(project: Path, target: Path) -> None:
    """Build and install a distribution into ``target`` offline, from a copy of its source."""
    pytest.importorskip("setuptools", reason="the offline plugin install builds with the installed setuptools")
    source = target.parent / f"source-{project.name}"
    shutil.copytree(project, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding zoo-example and zoo-broken, installed by pip."""
    root = tmp_path_factory.mktemp("plugins")
    broken = root / "zoo-broken"
    for name, text in BROKEN.items():
        (broken / name).parent.mkdir(parents=True, exist_ok=True)
        (broken / name).write_text(textwrap.dedent(text))
    target = root / "site"
    pip_install(EXAMPLE, target)
    pip_install(broken, target)
    return target


def zoo(site: Path, *args, cwd=None, env_extra=None):
    # a wide terminal keeps rich from wrapping the messages the tests look for
    return run_zoo(*args, cwd=cwd, env={"PYTHONPATH": str(site), "COLUMNS": "400", **(env_extra or {})})


def test_guide_shows_the_example_package_verbatim():
    """Every code block marked with a file in docs/plugins.md is that file, byte for byte."""
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", GUIDE.read_text(), re.S)
    assert {path for path, _ in blocks} >= {
        "plugins/zoo-example/zoo_example/optimizer.py",
        "plugins/zoo-example/zoo_example/model.py",
        "plugins/zoo-example/pyproject.toml",
    }
    for path, code in blocks:
        assert code == (REPO / path).read_text(), f"docs/plugins.md shows an outdated {path}"


def test_installed_plugins_are_listed_with_their_package(site):
    out = zoo(site, "list", "--format", "json")
    assert out.returncode == 0, out.stderr
    listed = {kind: {s["name"]: s for s in specs} for kind, specs in json.loads(out.stdout).items()}
    assert listed["optimizer"]["hill_climb"]["origin"] == "zoo-example 0.1.0"
    assert listed["optimizer"]["hill_climb"]["params"] == {"sigma": 0.1, "population": 64, "max_rounds": 1000}
    assert listed["model"]["torch_lenet"]["origin"] == "zoo-example 0.1.0"
    assert listed["model"]["torch_lenet"]["params"] == {"width": 1.0}
    assert listed["optimizer"]["explodes"]["origin"] == "zoo-broken 0.3.0"
    assert listed["optimizer"]["guess_check"]["origin"] == "built-in"


def test_package_that_fails_to_import_is_named_and_skipped(site):
    out = zoo(site, "list", "optimizer")
    assert out.returncode == 0, out.stderr
    assert ("plugin zoo-broken 0.3.0: failed to import zoo_broken.needs_missing: ModuleNotFoundError"
            in out.stdout + out.stderr)
    assert "hill_climb" in out.stdout and "guess_check" in out.stdout


def test_example_optimizer_and_model_run_end_to_end(site, tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(KINK.replace("OTHER", '{ name = "hill_climb", label = "hill", sigma = 0.3 }') + """
[[bench]]
name = "lenet-as-module"
task = { name = "mnist", classes = "pair", source = "embedded" }
model = { name = "torch_lenet", width = 0.5 }
optimizers = [ { name = "guess_check", label = "G&C", target = 3, max_guesses = 20000 } ]
matrix = { n = [2], seeds = [0] }
""")
    out = zoo(site, "bench", manifest, "--format", "json")
    assert out.returncode == 0, out.stderr
    tables = {t["title"]: t for t in json.loads(out.stdout)}
    hill = next(t for title, t in tables.items() if title.startswith("kink: hill test accuracy"))
    counts = [stat["count"] for row in hill["rows"] for stat in row[1:]]
    assert sum(counts) >= 1  # at most one model per cell
    lenet = next(t for title, t in tables.items() if title.startswith("lenet-as-module: G&C test accuracy"))
    assert "torch_lenet" in next(title for title in tables if title.startswith("lenet-as-module"))
    assert lenet["rows"][0][1]["count"] == 3


def test_cell_that_raises_names_the_package_and_the_run_goes_on(site, tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(KINK.replace("OTHER", '{ name = "explodes" }'))
    out = zoo(site, "bench", manifest, "--format", "json")
    assert out.returncode == 1  # some cells failed
    assert "Traceback" not in out.stderr
    assert out.stderr.count("RuntimeError: lost the plot (optimizer 'explodes' from zoo-broken 0.3.0)") == 2
    assert "2 cells run, 0 already in" in out.stderr and "2 failed" in out.stderr
    gc = next(t for t in json.loads(out.stdout) if t["title"].startswith("kink: G&C test accuracy"))
    assert gc["rows"][0][1]["count"] == 6  # 3 models x 2 seeds, all G&C cells finished


def test_module_lenet_is_the_builtin_lenet(site, monkeypatch):
    """Through the installed entry point, torch_lenet gives lenet's logits and normalized loss on the same theta."""
    monkeypatch.syspath_prepend(str(site))
    from zoo.evaluate import fit_and_loss
    from zoo.registry import Registry, plugin_manager

    registry = Registry(plugin_manager())
    assert registry.get("model", "torch_lenet").origin == "zoo-example 0.1.0"
    lenet = registry.get("model", "lenet").build(input_shape=(1, 28, 28), num_classes=2, width=0.5)
    module = registry.get("model", "torch_lenet").build(input_shape=(1, 28, 28), num_classes=2, width=0.5)
    assert [b.shape for b in module.blocks] == [b.shape for b in lenet.blocks]
    gen = torch.Generator().manual_seed(0)
    theta, x = lenet.init_uniform(64, 1.0, gen), torch.randn(5, 1, 28, 28, generator=gen)
    y = torch.tensor([0, 1, 1, 0, 1])
    torch.testing.assert_close(module.forward(theta, x), lenet.forward(theta, x), rtol=1e-4, atol=1e-4)
    (acc_m, loss_m), (acc_l, loss_l) = fit_and_loss(module, theta, x, y), fit_and_loss(lenet, theta, x, y)
    assert torch.equal(acc_m, acc_l)
    torch.testing.assert_close(loss_m, loss_l, rtol=1e-4, atol=1e-5)


def test_misspelt_unmarked_and_invalid_hooks_are_reported(site):
    out = zoo(site, "list", "task")
    assert out.returncode == 0, out.stderr
    said = out.stdout + out.stderr
    assert "plugin zoo-broken 0.3.0: unknown hook 'zoo_optimisers' (did you mean 'zoo_optimizers'?); it is never called" in said
    assert "plugin zoo-broken 0.3.0: zoo_cell_finish is not marked with @hookimpl; it is never called" in said
    assert "plugin zoo-broken 0.3.0: cannot register zoo_broken.wrong_arguments: PluginValidationError" in said
    assert "result" in said  # pluggy names the argument the hook does not have


def test_plugins_lists_packages_versions_and_hooks(site):
    out = zoo(site, "plugins", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows["example_optimizer"]["package"] == "zoo-example" and rows["example_optimizer"]["version"] == "0.1.0"
    assert rows["example_optimizer"]["hooks"] == ["zoo_optimizers"]
    assert rows["example_optimizer"]["provides"] == ["optimizer hill_climb"]
    assert rows["example_model"]["provides"] == ["model torch_lenet"]
    assert rows["broken_import"]["status"] == "failed" and "ModuleNotFoundError" in rows["broken_import"]["problems"][0]
    assert rows["misspelt"]["status"] == "loaded" and len(rows["misspelt"]["problems"]) == 2
    assert rows["zoo.optimizers.guess_check"]["package"] == "zoo"
    table = zoo(site, "plugins")
    assert "example_optimizer  zoo-example 0.1.0" in table.stdout and "  hooks: zoo_optimizers" in table.stdout


def test_one_plugin_can_be_disabled_for_a_run(site, tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(KINK.replace("OTHER", '{ name = "hill_climb", label = "hill", sigma = 0.3 }'))
    out = zoo(site, "bench", manifest, "--dry-run", "--disable-plugin", "example_optimizer")
    assert out.returncode == 2
    assert "unknown optimizer 'hill_climb'" in out.stderr and "Traceback" not in out.stderr
    listed = zoo(site, "--disable-plugin", "zoo-broken", "plugins", "--format", "json")
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert {rows[name]["status"] for name in ("explodes", "misspelt", "broken_import")} == {"disabled"}
    assert rows["example_model"]["status"] == "loaded"
    assert "explodes" not in zoo(site, "list", "optimizer", env_extra={"ZOO_DISABLE_PLUGINS": "explodes"}).stdout
    wrong = zoo(site, "list", "--disable-plugin", "zoo-exmaple")
    assert wrong.returncode == 2 and "(did you mean 'zoo-example'?)" in wrong.stderr


VERSIONED = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "zoo-versioned"
        version = "VERSION"
        [project.entry-points.zoo]
        versioned = "zoo_versioned"
        [tool.setuptools]
        packages = ["zoo_versioned"]
    """,
    "zoo_versioned/__init__.py": """
        from zoo.api import Outcome, Param, PluginSpec, hookimpl

        class Counter:
            def __init__(self, tries=1):
                self.tries = tries

            def run(self, problem, model, ctx):
                # version 1 has a bug: it counts one search too few
                return Outcome([], [], [], {"tested": self.tries + (VERSION_MAJOR - 1), "accepted": 0})

        @hookimpl
        def zoo_optimizers():
            return [PluginSpec("versioned", Counter, {"tries": Param(1, "searches")}, "version VERSION")]
    """,
}


def versioned_site(root: Path, version: str) -> Path:
    """zoo-versioned at ``version``, installed by pip into its own folder."""
    project = root / f"zoo-versioned-{version}"
    for name, text in VERSIONED.items():
        text = text.replace("VERSION_MAJOR", version.split(".")[0]).replace("VERSION", version)
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text))
    target = root / f"site-{version}"
    pip_install(project, target)
    return target


def test_cells_of_a_changed_plugin_version_are_flagged_and_rerun_exactly(tmp_path):
    first, second = versioned_site(tmp_path, "1.0.0"), versioned_site(tmp_path, "2.0.0")
    manifest = tmp_path / "m.toml"
    manifest.write_text(KINK.replace("OTHER", '{ name = "versioned", label = "v" }'))
    out = zoo(first, "bench", manifest)
    assert out.returncode == 0, out.stderr
    store = Store(tmp_path / "s.sqlite")
    before = {r["id"]: r for r in store.records()}
    made = {r["label"]: r["env"]["plugins"] for r in before.values()}
    assert made["v"]["optimizer"] == {"name": "versioned", "package": "zoo-versioned", "version": "1.0.0"}
    assert made["G&C"]["optimizer"]["package"] == "zoo" and made["G&C"]["task"]["name"] == "kink"

    # version 2 installed: the two cells of the old version are flagged, nothing else
    report = zoo(second, "report", tmp_path / "s.sqlite")
    assert report.returncode == 0, report.stderr
    assert ("2 stored cells were made with other plugin versions "
            "(optimizer versioned: zoo-versioned 1.0.0 -> 2.0.0)") in report.stderr
    dry = zoo(second, "bench", manifest, "--dry-run")
    assert dry.stdout.count("stale") + dry.stderr.count("stale") == 2
    plain = zoo(second, "bench", manifest)
    assert "0 cells run, 4 already in" in plain.stderr and "2 stored cells were made with other" in plain.stderr

    rerun = zoo(second, "bench", manifest, "--rerun-stale")
    assert rerun.returncode == 0, rerun.stderr
    assert "2 cells run, 2 already in" in rerun.stderr and "other plugin versions" not in rerun.stderr
    after = {r["id"]: r for r in store.records()}
    for cell_id, record in after.items():
        if record["label"] == "v":
            assert record["env"]["plugins"]["optimizer"]["version"] == "2.0.0"
            assert record["metrics"]["counters"]["tested"] == 2  # the fixed version's result
        else:
            assert record["finished_at"] == before[cell_id]["finished_at"] and record["metrics"] == before[cell_id]["metrics"]
    assert "other plugin versions" not in zoo(second, "report", tmp_path / "s.sqlite").stderr
    store.close()
