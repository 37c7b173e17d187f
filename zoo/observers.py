"""Lifecycle hooks called one plugin at a time, so that one broken observer cannot stop a run.

pluggy calls every implementation of a hook in one go and lets the first
exception end the call, and with it the run. Here each plugin's
implementation is called on its own; one that raises is reported once (with
its package) and detached for the rest of the run, and the run goes on.
"""

from __future__ import annotations

from typing import Callable

from zoo.registry import Registry


class Observers:
    def __init__(self, registry: Registry, warn: Callable[[str], None]):
        self.registry, self.warn = registry, warn
        self.detached: set[int] = set()

    def call(self, name: str, **kwargs) -> None:
        """Call hook ``name`` of every attached plugin, in pluggy's order (last registered first)."""
        hook = getattr(self.registry.hook(), name)
        for impl in reversed(hook.get_hookimpls()):
            if id(impl.plugin) in self.detached:
                continue
            try:
                if getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False):
                    raise TypeError("wrappers are not supported for lifecycle hooks")
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames if arg in kwargs})
            except Exception as error:
                self.detached.add(id(impl.plugin))
                self.warn(f"plugin {self.registry.origin_of(impl.plugin)}: {name} raised {type(error).__name__}: {error}; "
                          "its observer hooks are detached for the rest of the run, which goes on")
