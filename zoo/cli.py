"""The ``zoo`` command line: one module per subcommand under :mod:`zoo.commands`.

Exit codes: 0 success; 1 a cell or command failed at run time; 2 bad input
(manifest, arguments, missing data); 130 interrupted (Ctrl-C), with every
finished cell kept in the store.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from zoo import __version__
from zoo.errors import ZooError
from zoo.registry import _did_you_mean, default_registry, disabled_from_env

COMMANDS = (
    "zoo.commands.bench",
    "zoo.commands.list",
    "zoo.commands.plugins",
    "zoo.commands.report",
    "zoo.commands.export",
    "zoo.commands.compare",
    "zoo.commands.plot",
    "zoo.commands.pretrain",
    "zoo.commands.speed",
)

DISABLE_HELP = ("leave this plugin out: an entry-point or distribution name from `zoo plugins` "
                "(repeatable; the environment variable ZOO_DISABLE_PLUGINS=a,b does the same)")
EPILOG = "exit codes: 0 ok, 1 run-time failure, 2 bad input, 130 interrupted (finished cells are kept)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Declarative benchmarks for the volume hypothesis: Guess & Check against SGD and friends.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME", help=DISABLE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(sub)
    for command in sub.choices.values():  # also accepted after the command: zoo bench m.toml --disable-plugin X
        command.add_argument("--disable-plugin", action="append", dest="disable_after", default=[], metavar="NAME",
                             help=DISABLE_HELP)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        disable_plugins(args.disable_plugin + getattr(args, "disable_after", []))
        return args.handler(args)
    except ZooError as error:
        print(f"zoo: error: {one_line(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; finished cells are kept in the store", file=sys.stderr)
        return 130


def disable_plugins(names: list[str]) -> None:
    """Extend ZOO_DISABLE_PLUGINS, which every registry of this process and its workers reads; check the names."""
    if names:
        os.environ["ZOO_DISABLE_PLUGINS"] = ",".join([*disabled_from_env(), *names])
    if not disabled_from_env():
        return
    registry = default_registry()
    unknown = registry.manager.zoo_unknown_disabled
    if unknown:
        known = sorted({name for info in registry.installed for name in (info.name, info.package)} - {"zoo"})
        raise ZooError(f"--disable-plugin {unknown[0]}: no installed plugin or package has that name"
                       f"{_did_you_mean(unknown[0], known)}; installed: {', '.join(known)}")


def one_line(text: str) -> str:
    """A message as one line of plain text: newlines and control characters a manifest or store carried are escaped."""
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)


if __name__ == "__main__":
    sys.exit(main())
