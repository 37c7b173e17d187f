"""``zoo plugins``: every installed plugin, its package and version, and the hooks it implements."""

from __future__ import annotations

import json

from rich.text import Text

from zoo.commands.common import stdout_console
from zoo.registry import default_registry


def register(sub) -> None:
    p = sub.add_parser("plugins", help="list installed plugins with package, version and hooks",
                       description="List every plugin zoo found: built-in modules and entry points of installed "
                                   "packages, with the hooks each implements, what it provides, and whether it "
                                   "was loaded, disabled (--disable-plugin) or failed.")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.set_defaults(handler=main)


def main(args) -> int:
    registry = default_registry()
    if args.format == "json":
        rows = [{"name": i.name, "package": i.package, "version": i.version, "status": i.status, "hooks": list(i.hooks),
                 "provides": i.provides, "problems": i.problems} for i in registry.installed]
        print(json.dumps(rows, indent=2))
        return 0
    console = stdout_console()
    for info in registry.installed:
        # names and messages come from installed packages: printed literally, never as markup
        line = Text(info.name, style="bold") + Text(f"  {info.package} {info.version}".rstrip(), style="dim")
        if info.status != "loaded":
            line += Text(f"  {info.status}", style="yellow" if info.status == "disabled" else "red")
        console.print(line, soft_wrap=True)
        if info.hooks:
            console.print(Text(f"  hooks: {', '.join(info.hooks)}"), soft_wrap=True)
        if info.provides:
            console.print(Text(f"  provides: {', '.join(info.provides)}"), soft_wrap=True)
        for problem in info.problems:
            console.print(Text("  problem: ", style="yellow") + Text(problem), soft_wrap=True)
    return 0
