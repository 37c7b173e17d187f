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


def stderr_console() -> Console:
    """Messages and logs; in a file or a pipe a line is never wrapped at the guessed width."""
    console = Console(stderr=True, highlight=False)
    console.soft_wrap = not console.is_terminal
    return console


def warn_load_errors(registry, console: Console) -> None:
    for package, message in registry.load_errors:
        console.print(f"[yellow]warning:[/] plugin {escape(package)}: {escape(message)}")


def warn_unreadable(store) -> None:
    """A damaged store is reported with what can still be read: say what could not."""
    if store.unreadable:
        shown = "; ".join(store.unreadable[:3]) + ("; ..." if len(store.unreadable) > 3 else "")
        stderr_console().print(
            f"warning: {store.path}: {len(store.unreadable)} stored rows cannot be read and are left out ({shown})",
            markup=False)


def stored_records(path, benches: list[str] | None = None) -> list[dict]:
    """The readable cells of a store, of the given benches; an unknown bench name is an error with a did-you-mean."""
    from zoo.errors import ZooError
    from zoo.registry import _did_you_mean
    from zoo.store import Store

    store = Store(path, create=False)
    try:
        records = store.records()
        warn_unreadable(store)
    finally:
        store.close()
    names = list(dict.fromkeys(r["bench"] for r in records))
    for bench in benches or []:
        if bench not in names:
            raise ZooError(f"{path}: no bench named {bench!r}{_did_you_mean(bench, names)}; "
                           f"benches in this store: {', '.join(names) or 'none'}")
    if not records:
        raise ZooError(f"{path}: no finished cells; run `zoo bench MANIFEST` first")
    return [r for r in records if r["bench"] in benches] if benches else records


def newest_cells(records: list[dict], keep_all: bool) -> list[dict]:
    """The newest cell per matrix point unless ``--all``; says on stderr how many were left out."""
    if keep_all:
        return records
    records, superseded = reports.latest(records)
    if superseded:
        stderr_console().print(
            f"{superseded} older cells left out: a newer cell with other parameters holds the same matrix point "
            "(--all keeps them)")
    return records


def warn_stale(records: list[dict], registry, console: Console) -> dict:
    """Flag stored cells whose plugins changed version since they ran; returns ``{id: changes}``."""
    found = staleness.stale(records, registry)
    if found:
        console.print(Text("warning: ", style="yellow") + Text(staleness.describe(found)), soft_wrap=True)
    return found
