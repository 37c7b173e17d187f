"""Pieces shared by the subcommands."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from zoo import reports, staleness
from zoo.reports import FORMATS


def add_format(parser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (rich, default), json, csv or markdown; machine formats are plain stdout")


def stdout_console() -> Console:
    return Console(highlight=False)


def warn_load_errors(registry, console: Console) -> None:
    for package, message in registry.load_errors:
        console.print(f"[yellow]warning:[/] plugin {escape(package)}: {escape(message)}")


def warn_unreadable(store) -> None:
    """A damaged store is reported with what can still be read: say what could not."""
    if store.unreadable:
        shown = "; ".join(store.unreadable[:3]) + ("; ..." if len(store.unreadable) > 3 else "")
        Console(stderr=True, highlight=False).print(
            f"warning: {store.path}: {len(store.unreadable)} stored rows cannot be read and are left out ({shown})",
            markup=False)


def newest_cells(records: list[dict], keep_all: bool) -> list[dict]:
    """The newest cell per matrix point unless ``--all``; says on stderr how many were left out."""
    if keep_all:
        return records
    records, superseded = reports.latest(records)
    if superseded:
        Console(stderr=True, highlight=False).print(
            f"{superseded} older cells left out: a newer cell with other parameters holds the same matrix point "
            "(--all keeps them)")
    return records


def warn_stale(records: list[dict], registry, console: Console) -> dict:
    """Flag stored cells whose plugins changed version since they ran; returns ``{id: changes}``."""
    found = staleness.stale(records, registry)
    if found:
        console.print(Text("warning: ", style="yellow") + Text(staleness.describe(found)), soft_wrap=True)
    return found
