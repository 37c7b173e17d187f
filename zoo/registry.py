"""Plugin discovery: one name, one builder (like torchvision's model registry).

The registry is built from a pluggy plugin manager that holds the built-in
modules and every package registered under the entry-point group ``zoo``.
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import pluggy

from zoo import hookspecs

KINDS = ("optimizer", "model", "task")

BUILTIN_MODULES = (
    "zoo.models.linear",
    "zoo.models.mlp",
    "zoo.models.lenet",
    "zoo.models.resnet12",
    "zoo.tasks.toys",
    "zoo.tasks.mnist",
    "zoo.tasks.cifar10",
    "zoo.fewshot.task",
    "zoo.tasks.poison_toy",
    "zoo.optimizers.guess_check",
    "zoo.optimizers.gradient",
    "zoo.optimizers.pattern_search",
    "zoo.optimizers.random_greedy",
    "zoo.optimizers.poisoned",
    "zoo.optimizers.volume_ss",
)


class _Unset:
    def __repr__(self):
        return "<no default>"


UNSET = _Unset()


@dataclass(frozen=True)
class Param:
    """One manifest parameter, declared once: its default, what it means, and what it accepts.

    ``types`` (a tuple of Python types) widens the accepted types beyond the
    default's own; ``choices`` restricts the values. ``zoo list`` shows all of
    it, and the manifest check enforces it. ``budget`` marks a budget, target
    or step cap: the cell's random streams do not derive from it, so raising
    it continues the same experiment (and its stored progress) instead of
    starting another. ``placement`` marks a setting that says only where and
    how the work is spread (shards, workers): results do not depend on it,
    so the random streams do not derive from it either.
    """

    default: Any = UNSET
    help: str = ""
    types: tuple | None = None
    choices: tuple | None = None
    budget: bool = False
    placement: bool = False


@dataclass(frozen=True)
class PluginSpec:
    """What a plugin contributes: a named builder and its parameters.

    ``params`` maps every accepted parameter to its default, or to a
    :class:`Param` that also says what the parameter means (``help``), which
    types it takes and which values it allows. After construction ``params``
    holds plain defaults and ``help``, ``types`` and ``choices`` hold the rest,
    so either spelling can be read the same way. A default's type is the
    parameter's type (``None`` accepts anything, a float accepts ints) unless
    ``types`` names the accepted Python types for that key.

    ``eval_budget`` (optimizers only) maps a cell's budget in forward
    evaluations (one model evaluated on the whole training set, the unit of
    ``ctx.trace``) to this optimizer's own parameters: called with the budget
    and the resolved parameters, it returns the parameters it sets, so that a
    manifest's ``budget_evals`` gives every optimizer of a bench the same cost.
    ``None``: the optimizer cannot take such a budget.
    """

    name: str
    build: Callable[..., Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    choices: Mapping[str, tuple] = field(default_factory=dict)
    types: Mapping[str, tuple] = field(default_factory=dict)
    origin: str = "built-in"
    help: Mapping[str, str] = field(default_factory=dict)
    budgets: frozenset = frozenset()  # budget keys (see Param.budget)
    eval_budget: Callable[[int, Mapping[str, Any]], dict] | None = None
    placements: frozenset = frozenset()  # placement keys (see Param.placement)

    def __post_init__(self):
        params, helps, types, choices = {}, dict(self.help), dict(self.types), dict(self.choices)
        budgets, placements = set(self.budgets), set(self.placements)
        for key, value in self.params.items():
            if not isinstance(value, Param):
                params[key] = value
                continue
            if value.default is UNSET:
                raise TypeError(f"{self.name!r}: parameter {key!r} has no default")
            params[key] = value.default
            if value.budget:
                budgets.add(key)
            if value.placement:
                placements.add(key)
            for target, given in ((helps, value.help), (types, value.types), (choices, value.choices)):
                if given:
                    target[key] = tuple(given) if isinstance(given, (list, tuple)) else given
        for what, table in (("help", helps), ("types", types), ("choices", choices), ("budgets", budgets),
                            ("placements", placements)):
            unknown = sorted(set(table) - set(params))
            if unknown:
                raise TypeError(f"{self.name!r}: {what} names parameters it does not have: {', '.join(unknown)}")
        for key, value in (("params", params), ("help", helps), ("types", types), ("choices", choices),
                           ("budgets", frozenset(budgets)), ("placements", frozenset(placements))):
            object.__setattr__(self, key, value)

    def param(self, key: str) -> Param:
        """Everything declared about one parameter."""
        return Param(self.params[key], self.help.get(key, ""), self.types.get(key), self.choices.get(key),
                     key in self.budgets, key in self.placements)

    @property
    def outside_streams(self) -> frozenset:
        """The keys a cell's random streams do not derive from: budgets and placements."""
        return self.budgets | self.placements

    def type_name(self, key: str) -> str:
        """The parameter's accepted type in words: ``int``, ``float``, ``str or list``, ``any``..."""
        if key in self.types:
            return " or ".join(t.__name__ for t in self.types[key])
        default = self.params[key]
        if default is None:
            return "any"
        if isinstance(default, (list, tuple)):
            return "list"
        return type(default).__name__

    def check_params(self, given: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Return ``(key, problem)`` pairs for parameters that do not fit."""
        problems = []
        for key, value in given.items():
            if key not in self.params:
                hint = _did_you_mean(key, self.params)
                known = ", ".join(sorted(self.params)) or "none"
                problems.append((key, f"unknown parameter of {self.name!r}{hint}; it accepts: {known}"))
                continue
            if key in self.types:
                fits = isinstance(value, self.types[key])
                expected = " or ".join(t.__name__ for t in self.types[key])
            else:
                fits, expected = _fits(self.params[key], value), _type_name(self.params[key])
            if not fits:
                problems.append((key, f"expected {expected}, got {type(value).__name__} {value!r}"))
            elif key in self.choices and value not in self.choices[key]:
                problems.append((key, f"expected one of {list(self.choices[key])}, got {value!r}"))
        return problems

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given`` (validated), floats made float."""
        problems = self.check_params(given)
        if problems:
            raise ValueError("; ".join(f"{k}: {p}" for k, p in problems))
        out = dict(self.params)
        for key, value in given.items():
            as_float = isinstance(self.params[key], float) and key not in self.types
            out[key] = float(value) if as_float else value
        return out


def _fits(default, value) -> bool:
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _type_name(default) -> str:
    if default is None:
        return "any value"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, (list, tuple)):
        return "a list"
    return {bool: "true or false", int: "an integer", str: "a string"}.get(type(default), type(default).__name__)


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class UnknownPlugin(LookupError):
    """A manifest or command named a plugin that no package registers."""


@dataclass
class Installed:
    """One plugin as ``zoo plugins`` lists it: where it comes from and what it does."""

    name: str  # the entry-point name (built-ins: their module)
    package: str  # the distribution behind it; "zoo" for built-ins
    version: str
    status: str = "loaded"  # loaded | disabled | failed
    hooks: tuple[str, ...] = ()
    provides: list[str] = field(default_factory=list)  # "optimizer hill_climb", ...
    problems: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return "built-in" if self.package == "zoo" else f"{self.package} {self.version}".strip()


class Registry:
    """All registered optimizers, models and tasks, by kind and name."""

    def __init__(self, manager: pluggy.PluginManager):
        self.manager = manager
        self.load_errors: list[tuple[str, str]] = list(getattr(manager, "zoo_load_errors", []))
        # copies: each registry records what the plugins provided to it
        self.installed = [replace(info, provides=[], problems=list(info.problems)) for info in getattr(manager, "zoo_installed", [])]
        self._specs: dict[str, dict[str, PluginSpec]] = {kind: {} for kind in KINDS}
        self._packages: dict[tuple[str, str], tuple[str, str]] = {}
        by_plugin = {id(manager.get_plugin(info.name)): info for info in self.installed if info.status == "loaded"}
        self._by_plugin = by_plugin
        for kind in KINDS:
            hook = getattr(manager.hook, f"zoo_{kind}s")
            for impl in hook.get_hookimpls():
                info = by_plugin.get(id(impl.plugin)) or _describe(impl.plugin_name, impl.plugin)
                origin = info.origin
                try:
                    specs = impl.function()
                except Exception as error:  # a broken plugin must not take zoo down
                    self.load_errors.append((origin, f"zoo_{kind}s raised {type(error).__name__}: {error}; left out"))
                    continue
                if specs is None:
                    specs = []
                if not isinstance(specs, (list, tuple)):
                    self.load_errors.append((origin, f"zoo_{kind}s returned {type(specs).__name__}, not a list of "
                                                     "PluginSpec; left out"))
                    continue
                for spec in specs:
                    problem = _spec_problem(spec)
                    if problem is None:
                        try:
                            spec = replace(spec, origin=origin)
                        except Exception as error:  # its own checks (a Param without default, ...)
                            problem = f"{type(error).__name__}: {error}"
                    if problem is not None:
                        self.load_errors.append((origin, f"zoo_{kind}s gave an invalid spec ({problem}); left out"))
                        continue
                    if spec.name in self._specs[kind]:
                        other = self._specs[kind][spec.name].origin
                        self.load_errors.append((origin, f"{kind} {spec.name!r} is already registered by {other}; ignored"))
                        continue
                    self._specs[kind][spec.name] = spec
                    self._packages[kind, spec.name] = (info.package, info.version)
                    info.provides.append(f"{kind} {spec.name}")

    def names(self, kind: str) -> list[str]:
        return sorted(self._specs[kind])

    def specs(self, kind: str) -> list[PluginSpec]:
        return [self._specs[kind][name] for name in self.names(kind)]

    def get(self, kind: str, name: str) -> PluginSpec:
        try:
            return self._specs[kind][name]
        except KeyError:
            hint = _did_you_mean(name, self._specs[kind])
            known = ", ".join(self.names(kind))
            raise UnknownPlugin(f"unknown {kind} {name!r}{hint}; registered: {known}") from None

    def package(self, kind: str, name: str) -> tuple[str, str]:
        """``(distribution, version)`` behind a registered plugin; ``("zoo", zoo's version)`` for built-ins."""
        self.get(kind, name)
        return self._packages[kind, name]

    def hook(self):
        return self.manager.hook

    def origin_of(self, plugin) -> str:
        """The package (and version) behind a registered plugin object, for messages."""
        info = self._by_plugin.get(id(plugin))
        return info.origin if info else _describe(self.manager.get_name(plugin) or "?", plugin).origin


def _spec_problem(spec) -> str | None:
    """Why a hook's item cannot be registered, or None: it must be a PluginSpec with a plain name and a builder."""
    if not isinstance(spec, PluginSpec):
        return f"a {type(spec).__name__}, not a PluginSpec"
    if not isinstance(spec.name, str) or not spec.name or not spec.name.isprintable():
        return f"name {spec.name!r} is not a plain string"
    if not callable(spec.build):
        return f"{spec.name!r}: build is not callable"
    for what in ("params", "choices", "types", "help"):
        if not isinstance(getattr(spec, what), Mapping):
            return f"{spec.name!r}: {what} is a {type(getattr(spec, what)).__name__}, not a table"
    if not all(isinstance(key, str) for key in spec.params):
        return f"{spec.name!r}: parameter names must be strings"
    return None


def _is_builtin(plugin) -> bool:
    return getattr(plugin, "__name__", "").startswith("zoo.")


def _describe(name: str, plugin, package: str = "", version: str = "", status: str = "loaded") -> Installed:
    """An :class:`Installed` for a plugin registered in process (built-in, or passed as ``extra``)."""
    if not package:
        from zoo import __version__

        package, version = ("zoo", __version__) if _is_builtin(plugin) else (name, "")
    return Installed(name, package, version, status)


def plugin_manager(entry_points: bool = True, extra: tuple = (), disabled: tuple = ()) -> pluggy.PluginManager:
    """A plugin manager with the built-ins, ``extra`` plugins and entry points.

    ``disabled`` names plugins to leave out: entry-point names, distribution
    names (all of that distribution's entry points) or built-in module names.
    """
    manager = pluggy.PluginManager("zoo")
    manager.add_hookspecs(hookspecs)
    manager.zoo_load_errors = []  # (package, message) for plugins that failed to load or look wrong
    manager.zoo_installed = []  # every plugin, loaded or not, for ``zoo plugins``
    wanted_off, matched = set(disabled), set()
    for module_name in BUILTIN_MODULES:
        if module_name in wanted_off:
            matched.add(module_name)
            manager.zoo_installed.append(_describe(module_name, importlib.import_module(module_name), status="disabled"))
            continue
        module = importlib.import_module(module_name)
        manager.register(module, name=module_name)
        manager.zoo_installed.append(_describe(module_name, module))
    for plugin in extra:
        name = manager.register(plugin)
        manager.zoo_installed.append(_describe(name, plugin))
    if entry_points:
        matched |= _load_entry_points(manager, wanted_off)
    manager.zoo_unknown_disabled = sorted(wanted_off - matched)
    for info in manager.zoo_installed:
        if info.status == "loaded":
            plugin = manager.get_plugin(info.name)
            info.hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or ()))
            info.problems = hook_name_problems(manager, plugin)
            manager.zoo_load_errors += [(info.origin, problem) for problem in info.problems]
    return manager


def hook_name_problems(manager: pluggy.PluginManager, plugin) -> list[str]:
    """``zoo_*`` functions of a plugin that pluggy would silently never call: misspelt or unmarked hooks."""
    known = [name for name in dir(hookspecs) if name.startswith("zoo_")]
    problems = []
    for attr in sorted(dir(plugin)):
        if not attr.startswith("zoo_") or not callable(getattr(plugin, attr, None)):
            continue
        if attr not in known:
            problems.append(f"unknown hook {attr!r}{_did_you_mean(attr, known)}; it is never called")
        elif manager.parse_hookimpl_opts(plugin, attr) is None:
            problems.append(f"{attr} is not marked with @hookimpl; it is never called")
    return problems


def _load_entry_points(manager: pluggy.PluginManager, disabled: set) -> set:
    """Like ``load_setuptools_entrypoints`` but one broken package is reported, not fatal.

    Returns the names in ``disabled`` that matched an entry point or its distribution.
    """
    from importlib.metadata import distributions

    matched = set()
    for dist in distributions():
        for ep in dist.entry_points:
            if ep.group != "zoo" or manager.get_plugin(ep.name) or manager.is_blocked(ep.name):
                continue
            package, version = dist.metadata["name"], dist.version
            info = Installed(ep.name, package, version)
            manager.zoo_installed.append(info)
            if ep.name in disabled or package in disabled:
                matched |= {ep.name, package} & disabled
                manager.set_blocked(ep.name)  # a second copy of the distribution on the path stays out too
                info.status = "disabled"
                continue
            try:
                plugin = ep.load()
            except Exception as error:
                _failed(manager, info, f"failed to import {ep.value}: {type(error).__name__}: {error}")
                continue
            try:
                manager.register(plugin, name=ep.name)
            except Exception as error:  # pluggy's validation: a hook argument its spec does not have
                _failed(manager, info, f"cannot register {ep.value}: {type(error).__name__}: {error}")
    return matched


def _failed(manager, info: Installed, message: str) -> None:
    info.status = "failed"
    info.problems.append(message)
    manager.zoo_load_errors.append((info.origin, message))


def disabled_from_env() -> tuple[str, ...]:
    """Plugins ``ZOO_DISABLE_PLUGINS`` (comma-separated) leaves out; ``zoo --disable-plugin`` sets it."""
    return tuple(name.strip() for name in os.environ.get("ZOO_DISABLE_PLUGINS", "").split(",") if name.strip())


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry with built-ins and installed plugins, less those disabled."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Registry(plugin_manager(disabled=disabled_from_env()))
    return _DEFAULT
