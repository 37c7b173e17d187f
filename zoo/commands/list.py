"""``zoo list``: every registered optimizer, model and task, and where it comes from."""

from __future__ import annotations

import json

from rich.markup import escape
from rich.text import Text

from zoo.commands.common import stdout_console, warn_load_errors
from zoo.registry import KINDS, default_registry


def register(sub) -> None:
    p = sub.add_parser("list", help="list registered optimizers, models and tasks",
                       description="List every registered plugin with its origin (built-in or package) and parameters.")
    p.add_argument("kind", nargs="?", choices=KINDS + tuple(f"{k}s" for k in KINDS), metavar="KIND",
                   help=f"only this kind: {', '.join(KINDS)} (the plural, as the listing titles it, works too)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.set_defaults(handler=main)


def main(args) -> int:
    registry = default_registry()
    console = stdout_console()
    kinds = [args.kind.removesuffix("s") if args.kind not in KINDS else args.kind] if args.kind else list(KINDS)
    if args.format == "json":
        out = {kind: [describe(spec) for spec in registry.specs(kind)] for kind in kinds}
        print(json.dumps(out, indent=2, default=str))
        return 0
    warn_load_errors(registry, console)
    for kind in kinds:
        console.print(f"[bold underline]{kind}s[/]")
        for spec in registry.specs(kind):
            # one block per plugin, one line per parameter: the "key = default" part pastes into a manifest
            console.print(f"[bold]{escape(spec.name)}[/] [dim]({escape(spec.origin)})[/]  {escape(spec.summary)}", soft_wrap=True)
            if not spec.params:
                console.print(Text("  no parameters", style="cyan"), soft_wrap=True)
            settings = {key: f"{key} = {toml_value(value)}" for key, value in spec.params.items()}
            width = max(map(len, settings.values()), default=0)
            for key, setting in settings.items():
                line = Text("  ") + Text(setting.ljust(width), style="cyan") + Text(f"  {spec.type_name(key)}", style="dim")
                if spec.help.get(key):
                    line += Text(f"  {spec.help[key]}")
                if key in spec.choices:
                    line += Text(f" (one of {', '.join(toml_value(c) for c in spec.choices[key])})", style="dim")
                if key in spec.budgets:
                    line += Text(" (budget: raising it continues the same experiment)", style="dim")
                if key in spec.placements:
                    line += Text(" (placement: the results do not change)", style="dim")
                console.print(line, soft_wrap=True)
            spends = budget_keys(spec)
            if spends:
                console.print(Text(f"  a bench's budget_evals sets {', '.join(spends)}", style="dim"), soft_wrap=True)
            console.print()
    return 0


def describe(spec) -> dict:
    """A plugin as data: ``params`` maps names to defaults, ``parameters`` says everything about each."""
    parameters = {}
    for key in spec.params:
        param = spec.param(key)
        parameters[key] = {"default": param.default, "type": spec.type_name(key), "help": param.help,
                           "choices": list(param.choices) if param.choices else None, "budget": param.budget,
                           "placement": param.placement}
    return {"name": spec.name, "origin": spec.origin, "summary": spec.summary, "params": dict(spec.params),
            "parameters": parameters, "budget_evals_sets": budget_keys(spec)}


def budget_keys(spec) -> list[str] | None:
    """The parameters a bench's ``budget_evals`` sets for this optimizer (None: it takes no such budget)."""
    if getattr(spec, "eval_budget", None) is None:
        return None
    try:
        return sorted(spec.eval_budget(1_000_000, dict(spec.params)))
    except Exception:  # a plugin's mapping is foreign code; the manifest check reports its failure
        return None


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
