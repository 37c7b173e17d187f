"""Pieces shared by the subcommands."""

from __future__ import annotations

from rich.console import Console

from zoo.reports import FORMATS


def add_format(parser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (rich, default), json, csv or markdown; machine formats are plain stdout")


def stdout_console() -> Console:
    return Console(highlight=False)


def warn_load_errors(registry, console: Console) -> None:
    for package, message in registry.load_errors:
        console.print(f"[yellow]warning:[/] plugin {package}: {message}")
