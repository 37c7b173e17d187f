"""Broken plugins are named with their package and left out; zoo list and zoo bench go on.

The plugins are found through real entry points: a distribution's metadata
folder (``*.dist-info`` with ``entry_points.txt``) on the path of a fresh
``zoo`` process, as an installer would leave it.
"""

from __future__ import annotations

import sqlite3
import textwrap

import pytest

from conftest import run_zoo

PLUGINS = {
    "markup_import": '''
        raise ImportError("[red]no such module[/red] [link=file:///etc]")
    ''',
    "not_a_list": '''
        from zoo.api import PluginSpec, hookimpl

        class Walk:
            def run(self, problem, model, ctx):
                raise RuntimeError("never built")

        @hookimpl
        def zoo_optimizers():
            return PluginSpec("walk", Walk, {})  # one spec, not a list of them

        @hookimpl
        def zoo_tasks():
            return {"name": "a dict"}
    ''',
    "wrong_specs": '''
        from zoo.api import PluginSpec, hookimpl

        @hookimpl
        def zoo_models():
            return ["mlp", PluginSpec(3, print, {}), PluginSpec("nobuild", None, {})]
    ''',
    "raises_in_hook": '''
        from zoo.api import hookimpl

        @hookimpl
        def zoo_tasks():
            raise ValueError("[bold]task registry exploded[/bold]")
    ''',
    "bad_observer": '''
        import os
        from zoo.api import hookimpl

        @hookimpl
        def zoo_cell_start(cell):
            with open(os.environ["OBSERVER_LOG"], "a") as fh:
                fh.write("start\\n")
            raise RuntimeError("[red]observer broke[/red]")

        @hookimpl
        def zoo_run_finish(suite, summary):
            with open(os.environ["OBSERVER_LOG"], "a") as fh:
                fh.write("finish\\n")
    ''',
    "markup_raiser": '''
        from zoo.api import PluginSpec, hookimpl

        class Raiser:
            def run(self, problem, model, ctx):
                raise RuntimeError("[/] closing nothing [bold]")

        @hookimpl
        def zoo_optimizers():
            return [PluginSpec("raiser", Raiser, {}, "raises an error whose text looks like markup")]
    ''',
    "good_observer": '''
        import os
        from zoo.api import hookimpl

        @hookimpl
        def zoo_cell_finish(cell, record):
            with open(os.environ["OBSERVER_LOG"] + ".good", "a") as fh:
                fh.write(cell.id + "\\n")
    ''',
}

MANIFEST = """
[suite]
store = "r.sqlite"
device = "cpu"
[[bench]]
name = "kink"
task = { name = "kink" }
model = { name = "mlp", hidden = 3 }
optimizers = [ { name = "guess_check", target = 1, max_guesses = 2000 } ]
[bench.matrix]
n = [4]
seeds = [0, 1, 2]
[[bench]]
name = "raises"
task = { name = "kink" }
model = { name = "mlp", hidden = 3 }
optimizers = [ { name = "raiser" } ]
[bench.matrix]
n = [4]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One distribution per plugin, each with its metadata and entry point, in a folder for PYTHONPATH."""
    root = tmp_path_factory.mktemp("site")
    for name, source in PLUGINS.items():
        package = f"zoo-{name.replace('_', '-')}"
        (root / f"zoo_{name}.py").write_text(textwrap.dedent(source))
        meta = root / f"zoo_{name.replace('-', '_')}_pkg-1.2.3.dist-info"
        meta.mkdir()
        (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.2.3\n")
        (meta / "entry_points.txt").write_text(f"[zoo]\n{name} = zoo_{name}\n")
    return root


def zoo(site, tmp_path, *args):
    return run_zoo(*args, cwd=tmp_path, env={"PYTHONPATH": str(site), "COLUMNS": "400",
                                             "OBSERVER_LOG": str(tmp_path / "observer.log")})


def test_zoo_list_names_every_broken_package_and_lists_the_rest(site, tmp_path):
    result = zoo(site, tmp_path, "list")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    out = result.stdout
    assert "zoo-markup-import 1.2.3" in out and "[red]no such module[/red] [link=file:///etc]" in out  # literal text
    assert "zoo-not-a-list 1.2.3" in out and "zoo_optimizers returned PluginSpec, not a list" in out
    assert "zoo_tasks returned dict, not a list" in out
    assert "zoo-wrong-specs 1.2.3" in out and "a str, not a PluginSpec" in out and "name 3 is not a plain string" in out
    assert "'nobuild': build is not callable" in out
    assert "zoo-raises-in-hook 1.2.3" in out and "[bold]task registry exploded[/bold]" in out
    for builtin in ("guess_check", "lenet", "kink"):
        assert builtin in out
    assert "walk" not in out.split("optimizers")[-1].split("models")[0]


def test_an_observer_that_raises_is_reported_once_and_detached_and_the_run_goes_on(site, tmp_path):
    (tmp_path / "m.toml").write_text(MANIFEST)
    result = zoo(site, tmp_path, "bench", "m.toml")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr  # exit 1: one cell failed
    assert "RuntimeError: [/] closing nothing [bold] (optimizer 'raiser' from zoo-markup-raiser 1.2.3)" in result.stderr
    assert result.stderr.count("observer broke") == 1 and "[red]observer broke[/red]" in result.stderr
    assert "zoo-bad-observer 1.2.3" in result.stderr and "detached" in result.stderr
    # detached: its other hooks are not called either; the good observer saw every cell
    assert (tmp_path / "observer.log").read_text() == "start\n"
    with sqlite3.connect(tmp_path / "r.sqlite") as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM cells")}
    assert len(ids) == 3
    assert len(set((tmp_path / "observer.log.good").read_text().split()) & ids) == 3
