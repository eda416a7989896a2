"""The ``benchhub-sim`` command.

Each subcommand is a small function ``cmd_NAME(args) -> int`` registered in
:func:`build_parser`. Bad input (any :class:`BenchhubSimError` that is about the input)
prints its problems one per line on stderr and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from benchhub_sim.errors import BenchhubSimError

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran, but what it ran failed (e.g. a job aborted)
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchhub-sim",
        description="Simulate, execute and replay BenchHub benchmark clusters.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    # Subcommands register themselves here, one block each.
    return parser


def _version() -> str:
    from benchhub_sim import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BenchhubSimError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
