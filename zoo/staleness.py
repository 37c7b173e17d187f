"""Which packages made a cell, and whether they have changed since.

Every stored cell records, in its environment, the distribution and version
behind its task, model and optimizer (``env["plugins"]``). A stored cell is
*stale* when one of them now comes from another version (or is no longer
installed): fixing a bug in a plugin then shows up in ``zoo report`` and
``zoo bench``, and ``zoo bench --rerun-stale`` runs exactly those cells
again. Cells stored before versions were recorded cannot be judged and
count as current.
"""

from __future__ import annotations

from zoo.registry import Registry, UnknownPlugin

KINDS = ("task", "model", "optimizer")


def plugin_versions(cell, registry: Registry) -> dict:
    """``{kind: {"name", "package", "version"}}`` for the cell's task, model and optimizer."""
    out = {}
    for kind in KINDS:
        name = getattr(cell, kind).name
        package, version = registry.package(kind, name)
        out[kind] = {"name": name, "package": package, "version": version}
    return out


def changes(record: dict, registry: Registry) -> list[str]:
    """What differs between the versions a stored cell was made with and those installed now."""
    out = []
    for kind, made in record.get("env", {}).get("plugins", {}).items():
        try:
            package, version = registry.package(kind, made["name"])
        except UnknownPlugin:
            out.append(f"{kind} {made['name']}: {made['package']} {made['version']} -> not installed")
            continue
        if (package, version) != (made["package"], made["version"]):
            now = f"{package} {version}" if package != made["package"] else version
            out.append(f"{kind} {made['name']}: {made['package']} {made['version']} -> {now}")
    return out


def stale(records: list[dict], registry: Registry) -> dict[str, list[str]]:
    """``{cell id: changes}`` for every stored record whose plugins changed since it was made."""
    found = {}
    for record in records:
        differences = changes(record, registry)
        if differences:
            found[record["id"]] = differences
    return found


def describe(found: dict[str, list[str]]) -> str:
    """One line for stderr: how many cells are stale, and why."""
    reasons = sorted({reason for differences in found.values() for reason in differences})
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return (f"{len(found)} stored cells were made with other plugin versions ({shown}); "
            "`zoo bench MANIFEST --rerun-stale` runs them again")
