"""``zoo list``: every registered optimizer, model and task, and where it comes from."""

from __future__ import annotations

import json

from rich.table import Table

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
        table = Table(title=f"{kind}s", title_justify="left")
        for col in ("name", "origin", "parameters (defaults)", "summary"):
            table.add_column(col)
        for spec in registry.specs(kind):
            params = ", ".join(f"{k}={v!r}" for k, v in spec.params.items()) or "–"
            table.add_row(spec.name, spec.origin, params, spec.summary)
        console.print(table)
    return 0
