"""The ``tickscope`` console command: dispatches to tickscope.commands.<name>.

Each subcommand's options show the ``TICKSCOPE_*`` environment variable that
sets their default, where one does.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tickscope import __version__
from tickscope.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tickscope", description="Streaming explanations for market signals.")
    parser.add_argument("--version", action="version", version=f"tickscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tickscope.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tickscope.commands.{name}":
                continue  # command not built yet
            raise
        p = module.add_parser(sub)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
