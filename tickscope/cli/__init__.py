"""The ``tickscope`` console command: one module per subcommand, ``tickscope.cli.<name>_command``.

Each command module has ``add_parser(subparsers)`` and ``run(args) -> int``.
Options show the ``TICKSCOPE_*`` environment variable that sets their
default, where one does.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tickscope import __version__

COMMANDS = ("up", "broker", "worker", "feed", "dashboard", "archiver", "verify", "heads", "replay", "export", "train",
            "model", "model_info", "calibrate_alerts", "bench", "fuzz")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tickscope", description="Streaming explanations for market signals.")
    parser.add_argument("--version", action="version", version=f"tickscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"tickscope.cli.{name}_command")  # a missing module is an error
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
