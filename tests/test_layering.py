"""Imports run one way, from the commands down to the spine, read from the source (parsed, never imported).

The layers, lowest first (:data:`LAYERS`):

- spine: ``zoo/*.py`` (the contract, populations, cells, runner, store, ...),
  ``zoo/data`` and ``zoo/reports`` (tables of stored records);
- engine: ``zoo/guessing``, the Guess & Check engine, which knows models only
  through the population protocol (``zoo/population.py``);
- plugins: the built-in models, optimizers and tasks (``zoo/models``,
  ``zoo/optimizers``, ``zoo/tasks``, ``zoo/fewshot``);
- above the plugins: ``zoo/speed`` (measurements that compose plugins) and
  ``zoo/plotting``;
- commands: ``zoo/commands`` and ``zoo/cli.py``.

A module imports only from its own layer or the ones below; an optimizer
works on any model and task, so it imports no module that registers one (it
may share a kernel library with a model, never test a model's class); a third-party plugin
(a package under ``plugins/``) imports zoo only through ``zoo.api``; and no
modules import each other in a circle. Every import counts, at the top of a
module or inside a function; only those under ``if TYPE_CHECKING:`` do not,
since they never run.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LAYERS = {  # package (or module) prefix -> rank; the longest matching prefix decides
    "zoo": 0,
    "zoo.data": 0,
    "zoo.reports": 0,
    "zoo.guessing": 1,
    "zoo.models": 2,
    "zoo.optimizers": 2,
    "zoo.tasks": 2,
    "zoo.fewshot": 2,
    "zoo.speed": 3,
    "zoo.plotting": 3,
    "zoo.commands": 4,
    "zoo.cli": 4,
}
NAMES = {0: "the spine", 1: "the engine", 2: "the plugins", 3: "measurement and plotting", 4: "the commands"}


def module_name(path: Path) -> str:
    """``zoo/guessing/early.py`` -> ``zoo.guessing.early``; ``plugins/zoo-example/zoo_example/model.py`` -> ``zoo_example.model``."""
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[0] == "plugins":
        parts = parts[2:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {module_name(path): path for path in sorted((REPO / "zoo").rglob("*.py"))}
    for path in sorted((REPO / "plugins").rglob("*.py")):
        if "tests" not in path.relative_to(REPO).parts:
            found[module_name(path)] = path
    return found


def third_party(name: str) -> bool:
    """A module of a plugin package under ``plugins/`` (not a script beside it)."""
    path = modules()[name]
    return path.is_relative_to(REPO / "plugins") and (path.parent / "__init__.py").exists()


def type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


@cache
def imports(name: str) -> frozenset[str]:
    """The modules of this repository that ``name`` imports, anywhere in its body."""
    path, known = modules()[name], modules()
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped, found = type_checking_only(tree), set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known.keys()
            found.update(submodules)
            if len(submodules) < len(node.names):  # names defined in the module itself
                found.add(base)
    return frozenset(target for target in found if target in known and target != name)


def rank(name: str) -> int | None:
    prefixes = [prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")]
    return LAYERS[max(prefixes, key=len)] if prefixes else None


def edges():
    for name in modules():
        for target in imports(name):
            yield name, target


def test_every_zoo_module_has_a_layer():
    unplaced = sorted(name for name in modules() if name.startswith("zoo.") and name.count(".") == 1
                      and modules()[name].name == "__init__.py" and name not in LAYERS)
    assert not unplaced, f"packages with no layer in LAYERS: {unplaced}"


def test_imports_run_down_the_layers():
    upward = [f"{name} ({NAMES[rank(name)]}) imports {target} ({NAMES[rank(target)]})"
              for name, target in edges() if rank(name) is not None and rank(target) > rank(name)]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


@cache
def registers(name: str) -> set[str]:
    """The registration hooks (``zoo_models``, ``zoo_tasks``, ``zoo_optimizers``) a module implements."""
    tree = ast.parse(modules()[name].read_text())
    implemented = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                   and any(ast.unparse(decorator).endswith("hookimpl") for decorator in node.decorator_list)}
    return implemented & {"zoo_models", "zoo_tasks", "zoo_optimizers"}


def test_optimizers_import_no_model_or_task():
    crossing = [f"{name} imports {target}" for name, target in edges()
                if name.startswith("zoo.optimizers") and registers(target) & {"zoo_models", "zoo_tasks"}]
    assert not crossing, "an optimizer works on any model and task:\n" + "\n".join(crossing)


def test_third_party_plugins_import_zoo_only_through_its_api():
    inside = [f"{name} imports {target}" for name, target in edges()
              if third_party(name) and rank(target) is not None and target != "zoo.api"]
    assert not inside, "a plugin package imports zoo through zoo.api:\n" + "\n".join(inside)


def test_no_import_cycles():
    graph = {name: sorted(imports(name)) for name in modules()}
    cycles, state = [], {}  # state: 1 on the current path, 2 done

    def visit(name, path):
        state[name] = 1
        for target in graph[name]:
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_import_graph_is_read_as_written():
    """The reader itself: function-level imports and submodules named in a from-import are edges; TYPE_CHECKING imports are not."""
    assert "zoo.registry" in imports("zoo.runner")  # a top-level import
    assert "zoo.reports" in imports("zoo.manifest")  # an import inside a function
    assert "zoo.registry" not in imports("zoo.hookspecs")  # only under TYPE_CHECKING
    assert "zoo.guessing.native" in imports("zoo.guessing.early")  # from a package, a submodule by name
    assert "zoo.api" in imports("zoo_example.model")  # a third-party plugin
    assert third_party("zoo_example.model") and not third_party("zoo.api")
    assert registers("zoo.models.lenet") == {"zoo_models"} and not registers("zoo.models.layers")
    assert not registers("zoo.hookspecs")  # the specifications, not an implementation
