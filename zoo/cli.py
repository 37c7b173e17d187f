"""The ``zoo`` command line: one module per subcommand under :mod:`zoo.commands`.

Exit codes: 0 success; 1 a cell or command failed at run time; 2 bad input
(manifest, arguments, missing data); 130 interrupted (Ctrl-C), with every
finished cell kept in the store.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from zoo import __version__
from zoo.errors import ZooError

COMMANDS = (
    "zoo.commands.bench",
    "zoo.commands.list",
    "zoo.commands.report",
    "zoo.commands.plot",
    "zoo.commands.pretrain",
    "zoo.commands.speed",
)

EPILOG = "exit codes: 0 ok, 1 run-time failure, 2 bad input, 130 interrupted (finished cells are kept)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Declarative benchmarks for the volume hypothesis: Guess & Check against SGD and friends.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; finished cells are kept in the store", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
