"""``zoo list``: every registered optimizer, model and task, and where it comes from."""

from __future__ import annotations

import json

from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from zoo.commands.common import stdout_console, warn_load_errors
from zoo.registry import KINDS, default_registry


def register(sub) -> None:
    p = sub.add_parser("list", help="list registered optimizers, models and tasks",
                       description="List every registered plugin with its origin (built-in or package) and parameters.")
    p.add_argument("kind", nargs="?", choices=KINDS, help="only this kind")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.set_defaults(handler=main)


def main(args) -> int:
    registry = default_registry()
    console = stdout_console()
    kinds = [args.kind] if args.kind else list(KINDS)
    if args.format == "json":
        out = {kind: [{"name": s.name, "origin": s.origin, "params": dict(s.params), "summary": s.summary}
                      for s in registry.specs(kind)] for kind in kinds}
        print(json.dumps(out, indent=2, default=str))
        return 0
    warn_load_errors(registry, console)
    for kind in kinds:
        console.print(f"[bold underline]{kind}s[/]")
        for spec in registry.specs(kind):
            # one block per plugin: reads at any terminal width, and the parameters paste into a manifest
            console.print(f"[bold]{spec.name}[/] [dim]({spec.origin})[/]  {escape(spec.summary)}")
            params = ", ".join(f"{k} = {toml_value(v)}" for k, v in spec.params.items()) or "no parameters"
            console.print(Padding(Text(params, style="cyan"), (0, 0, 0, 2)))
            console.print()
    return 0


def toml_value(value) -> str:
    """A default as a manifest would spell it; ``None`` means the plugin takes any value."""
    if value is None:
        return "(any)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)
