"""`sensorkit`: the host tools of psa-sensorkit behind one command.

Each subcommand lives in its own module under tools/ and exposes
``add_parser(subparsers)``, which registers the subcommand and sets ``func`` (called
with the parsed arguments; its return value is the exit status). Add a module name
to SUBCOMMANDS to plug one in.
"""

import argparse
import importlib
import sys

# module names under tools/, in the order `sensorkit --help` lists them
SUBCOMMANDS = [
    "demo",
    "deploy",
    "provision",
    "token",
    "tls_client",
    "bench",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sensorkit",
        description="psa-sensorkit host tools: gateway, provisioning, tokens, TLS-PSK client, deploy, demo, bench.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module("tools." + name).add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
